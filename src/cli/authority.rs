//! `kpcert authority add | list | token`: issuing authorities and their bearer tokens. With
//! `--url` (and a Secretariat token) they go through the running server's admin API; without,
//! they open the data folder, which they cannot while a server holds it: then they stop at once
//! and say to use `--url`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::{open, Dirs};
use crate::client::Client;

/// How to reach a running server's admin API.
#[derive(Args, Debug, Clone)]
pub struct Remote {
    /// A running kpcert server (https://host:port, or http:// on loopback): act through its
    /// admin API instead of opening the data folder.
    #[arg(long, env = "KPCERT_URL")]
    url: Option<String>,
    /// A Secretariat bearer token for --url.
    #[arg(long, env = "KPCERT_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// PEM certificate(s) to trust for --url instead of the system's roots.
    #[arg(long, env = "KPCERT_CACERT")]
    cacert: Option<PathBuf>,
}

impl Remote {
    /// The admin client and token, when --url is given.
    pub(super) fn client(&self) -> anyhow::Result<Option<(Client, String)>> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        let token = self
            .token
            .clone()
            .context("--url needs a Secretariat token (--token or KPCERT_ADMIN_TOKEN)")?;
        let pem = match &self.cacert {
            Some(p) => {
                Some(std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?)
            }
            None => None,
        };
        Ok(Some((Client::new(url, pem.as_deref())?, token)))
    }
}

/// Calls the admin API; any answer but `expect` is an error naming the server's message.
pub(super) fn call(
    client: &Client,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    expect: u16,
) -> anyhow::Result<Value> {
    let (status, text) = client.send(method, path, token, body.map(|b| b.to_string()))?;
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if status != expect {
        let problems: Vec<String> = value["problems"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|p| p["message"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        bail!(
            "the server answered {status}: {}{}",
            value["message"].as_str().unwrap_or(&value.to_string()),
            if problems.is_empty() {
                String::new()
            } else {
                format!(" ({})", problems.join("; "))
            }
        );
    }
    Ok(value)
}

#[derive(Subcommand, Debug)]
pub enum AuthorityCommand {
    /// Register an issuing authority, generate its signing key (or register its own public key)
    /// and print its token once.
    Add {
        #[command(flatten)]
        dirs: Dirs,
        #[command(flatten)]
        remote: Remote,
        /// KP participant code (ISO 3166-1 alpha-2, or EU).
        #[arg(long)]
        participant: String,
        /// Official name of the authority.
        #[arg(long)]
        name: String,
        /// Longest validity the authority may give a certificate, in days.
        #[arg(long, default_value_t = 90)]
        max_validity_days: u32,
        /// The authority's own ed25519 public key (64 hex digits): it keeps the private key and
        /// signs on its own systems (`kpcert sign`).
        #[arg(long)]
        public_key: Option<String>,
        /// Print one JSON object: authority_id, key_id, token, participant, name.
        #[arg(long)]
        json: bool,
        /// The ledger's name (checkpoint origin), when this command creates the ledger: it is
        /// fixed on first run.
        #[arg(long)]
        origin: Option<String>,
    },
    /// List the registered authorities.
    List {
        #[command(flatten)]
        dirs: Dirs,
        #[command(flatten)]
        remote: Remote,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Give an authority a new signing key (rotation): generated here, or its own public key.
    /// The new key signs from now on; what the old key signed stays valid.
    Rotate {
        #[command(flatten)]
        dirs: Dirs,
        #[command(flatten)]
        remote: Remote,
        /// Authority id, e.g. BW-A1.
        #[arg(long)]
        authority: String,
        /// The authority's own new ed25519 public key (64 hex digits).
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Record that an authority key was compromised from a point in time: certificates whose
    /// ledger entry is at or after it verify `key_revoked`, earlier ones stay valid.
    RevokeKey {
        #[command(flatten)]
        dirs: Dirs,
        #[command(flatten)]
        remote: Remote,
        /// Authority id, e.g. BW-A1.
        #[arg(long)]
        authority: String,
        /// The key id (see `kpcert authority list`).
        #[arg(long)]
        key_id: String,
        /// RFC 3339 UTC time from which the key is known or presumed compromised, e.g.
        /// 2026-12-01T08:00:00Z (at or before now).
        #[arg(long)]
        compromised_from: String,
        /// Why (recorded in the ledger and shown with every verdict it causes).
        #[arg(long)]
        reason: String,
    },
    /// Mint a new bearer token for an authority (printed once).
    Token {
        #[command(flatten)]
        dirs: Dirs,
        #[command(flatten)]
        remote: Remote,
        /// Authority id, e.g. BW-A1.
        #[arg(long)]
        authority: String,
        /// Revoke the authority's earlier tokens first.
        #[arg(long)]
        revoke_others: bool,
        /// Days the token lives.
        #[arg(long, default_value_t = crate::tokens::DEFAULT_TOKEN_DAYS)]
        days: u64,
    },
}

/// Opens an existing ledger for a command that reads or changes it without creating it.
pub(super) fn open_existing(dirs: &Dirs) -> anyhow::Result<crate::app::App> {
    if !crate::ledger::Ledger::holds_entries(&dirs.data_dir) {
        bail!(
            "no ledger in {} (nothing was created): check --data-dir, or register an authority first with `kpcert authority add`",
            dirs.data_dir.display()
        );
    }
    open(dirs, None)
}

/// Says how to go on when the folder is held by a server.
pub(super) fn with_hint<T>(result: anyhow::Result<T>) -> anyhow::Result<T> {
    result.map_err(|e| {
        if e.to_string().contains("in use by another kpcert process") {
            anyhow::anyhow!(
                "a running kpcert server holds the data folder: run this through it with --url https://HOST:PORT and a Secretariat token (--token or KPCERT_ADMIN_TOKEN)"
            )
        } else {
            e
        }
    })
}

/// The admin API's view of authority `id`, from an open folder.
fn view_of(app: &crate::app::App, id: &str) -> anyhow::Result<Value> {
    let state = app.state();
    let record = state
        .authority(id)
        .with_context(|| format!("no authority {id} (see `kpcert authority list`)"))?;
    Ok(serde_json::to_value(crate::views::AuthorityView::of(
        record,
        app.can_issue(id),
    ))?)
}

/// Prints an authority's keys after a change.
fn print_keys(a: &Value) {
    println!(
        "{}: signs with key {}",
        a["authority_id"].as_str().unwrap_or_default(),
        a["current_key_id"]
            .as_str()
            .unwrap_or("none (give it a new key with `kpcert authority rotate`)")
    );
    for k in a["keys"].as_array().cloned().unwrap_or_default() {
        println!(
            "  key {}  from {}{}",
            k["key_id"].as_str().unwrap_or_default(),
            k["valid_from"].as_str().unwrap_or_default(),
            match k["revoked"]["compromised_from"].as_str() {
                Some(t) => format!("  revoked: compromised from {t}"),
                None => String::new(),
            }
        );
    }
}

fn print_authority(a: &Value, token: &str, json: bool) {
    if json {
        println!(
            "{}",
            json!({"authority_id": a["authority_id"], "key_id": a["current_key_id"], "token": token,
                   "participant": a["participant"], "name": a["name"], "key_held_here": a["key_held_here"]})
        );
    } else {
        println!(
            "authority_id: {}",
            a["authority_id"].as_str().unwrap_or_default()
        );
        println!(
            "participant:  {}",
            a["participant"].as_str().unwrap_or_default()
        );
        println!("name:         {}", a["name"].as_str().unwrap_or_default());
        println!(
            "key_id:       {}",
            a["current_key_id"].as_str().unwrap_or_default()
        );
        println!("token:        {token}");
        println!();
        println!("The token is shown once; only its hash is stored. It expires in 90 days.");
        println!(
            "Certificates this authority issues are valid for at most {} days.",
            a["max_validity_days"]
        );
        if a["key_held_here"] == false && a["current_key_id"].is_string() {
            println!("The authority keeps its private key: it signs with `kpcert sign` (and `kpcert sign confirm|void|replace`) and submits to the signed routes (POST /v1/certificates/signed, .../import-confirmation/signed, .../void/signed, .../replace/signed).");
        }
    }
}

pub fn run(cmd: AuthorityCommand) -> anyhow::Result<()> {
    match cmd {
        AuthorityCommand::Add {
            dirs,
            remote,
            participant,
            name,
            max_validity_days,
            public_key,
            json,
            origin,
        } => {
            let body = json!({"participant": participant, "name": name,
                              "max_validity_days": max_validity_days, "public_key": public_key});
            let answer = match remote.client()? {
                Some((client, token)) => call(
                    &client,
                    &token,
                    "POST",
                    "/v1/admin/authorities",
                    Some(body),
                    201,
                )?,
                None => {
                    let app = with_hint(open(&dirs, origin))?;
                    let key = public_key
                        .map(|k| {
                            crate::codec::text::from_hex(&k)
                                .and_then(|b| crate::crypto::PublicKey::from_bytes(&b).ok())
                                .context(
                                    "--public-key must be 64 hex digits of a valid ed25519 key",
                                )
                        })
                        .transpose()?;
                    let new = app.register_authority(&participant, &name, max_validity_days, key);
                    let bootstrap = app.take_bootstrap_token();
                    app.close();
                    let new = new?;
                    if let Some(t) = bootstrap {
                        eprintln!("This created the ledger. Secretariat token (shown once; keep it safe): {t}");
                    }
                    json!({"authority": view_of(&app, &new.authority.id)?, "token": new.token})
                }
            };
            print_authority(
                &answer["authority"],
                answer["token"].as_str().unwrap_or_default(),
                json,
            );
            Ok(())
        }
        AuthorityCommand::List { dirs, remote, json } => {
            let list: Vec<Value> = match remote.client()? {
                Some((client, token)) => {
                    call(&client, &token, "GET", "/v1/admin/authorities", None, 200)?
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                }
                None => {
                    let app = with_hint(open_existing(&dirs))?;
                    let list = app
                        .authorities()
                        .into_iter()
                        .map(|a| view_of(&app, &a.id))
                        .collect::<anyhow::Result<Vec<Value>>>();
                    app.close();
                    list?
                }
            };
            if json {
                println!("{}", Value::Array(list));
            } else {
                for a in list {
                    let status = if a["key_held_here"] == true {
                        ""
                    } else {
                        "  (signing key not here: cannot issue through this server)"
                    };
                    println!(
                        "{:<8} {}  {}  key {}{status}",
                        a["authority_id"].as_str().unwrap_or_default(),
                        a["participant"].as_str().unwrap_or_default(),
                        a["name"].as_str().unwrap_or_default(),
                        a["current_key_id"].as_str().unwrap_or("none (revoked)")
                    );
                    for k in a["keys"].as_array().cloned().unwrap_or_default() {
                        let until = k["valid_until"].as_str().unwrap_or("now");
                        let revoked = match k["revoked"].as_object() {
                            Some(r) => format!(
                                "  REVOKED from {} ({})",
                                r["compromised_from"].as_str().unwrap_or_default(),
                                r["reason"].as_str().unwrap_or_default()
                            ),
                            None => String::new(),
                        };
                        println!(
                            "         key {}  {} to {until}{revoked}",
                            k["key_id"].as_str().unwrap_or_default(),
                            k["valid_from"].as_str().unwrap_or_default()
                        );
                    }
                }
            }
            Ok(())
        }
        AuthorityCommand::Rotate {
            dirs,
            remote,
            authority,
            public_key,
        } => {
            let answer = match remote.client()? {
                Some((client, token)) => call(
                    &client,
                    &token,
                    "POST",
                    &format!("/v1/admin/authorities/{authority}/keys"),
                    Some(json!({"public_key": public_key})),
                    201,
                )?,
                None => {
                    let key = public_key
                        .map(|k| {
                            crate::codec::text::from_hex(&k)
                                .and_then(|b| crate::crypto::PublicKey::from_bytes(&b).ok())
                                .context(
                                    "--public-key must be 64 hex digits of a valid ed25519 key",
                                )
                        })
                        .transpose()?;
                    let app = with_hint(open_existing(&dirs))?;
                    let result = app
                        .rotate_key(&authority, key)
                        .map_err(anyhow::Error::from)
                        .and_then(|_| view_of(&app, &authority));
                    app.close();
                    result?
                }
            };
            print_keys(&answer);
            Ok(())
        }
        AuthorityCommand::RevokeKey {
            dirs,
            remote,
            authority,
            key_id,
            compromised_from,
            reason,
        } => {
            let from = crate::domain::date::parse_unix_ms(&compromised_from).context(
                "--compromised-from must be an RFC 3339 UTC time such as 2026-12-01T08:00:00Z",
            )?;
            let answer = match remote.client()? {
                Some((client, token)) => call(
                    &client,
                    &token,
                    "POST",
                    &format!("/v1/admin/authorities/{authority}/keys/{key_id}/revoke"),
                    Some(json!({"compromised_from": compromised_from, "reason": reason})),
                    200,
                )?,
                None => {
                    let app = with_hint(open_existing(&dirs))?;
                    let result = app
                        .revoke_key(&authority, &key_id, from, &reason)
                        .map_err(anyhow::Error::from)
                        .and_then(|_| view_of(&app, &authority));
                    app.close();
                    result?
                }
            };
            print_keys(&answer);
            Ok(())
        }
        AuthorityCommand::Token {
            dirs,
            remote,
            authority,
            revoke_others,
            days,
        } => {
            let token = match remote.client()? {
                Some((client, token)) => {
                    if revoke_others {
                        let tokens = call(&client, &token, "GET", "/v1/admin/tokens", None, 200)?;
                        let mut n = 0;
                        for t in tokens.as_array().cloned().unwrap_or_default() {
                            if t["role"] == "authority" && t["owner"] == authority.as_str() {
                                let path = format!(
                                    "/v1/admin/tokens/{}",
                                    t["prefix"].as_str().unwrap_or_default()
                                );
                                call(&client, &token, "DELETE", &path, None, 200)?;
                                n += 1;
                            }
                        }
                        eprintln!("revoked {n} earlier token(s)");
                    }
                    let minted = call(
                        &client,
                        &token,
                        "POST",
                        "/v1/admin/tokens",
                        Some(json!({"role": "authority", "owner": authority, "days": days})),
                        201,
                    )?;
                    minted["token"].as_str().unwrap_or_default().to_owned()
                }
                None => {
                    let app = with_hint(open_existing(&dirs))?;
                    let result = (|| {
                        if app.state().authority(&authority).is_none() {
                            bail!("no authority {authority} (see `kpcert authority list`)");
                        }
                        if revoke_others {
                            let n = app.revoke_tokens(&authority)?;
                            eprintln!("revoked {n} earlier token(s)");
                        }
                        Ok(app.mint_token(crate::tokens::Role::Authority, &authority, days)?)
                    })();
                    app.close();
                    result?
                }
            };
            println!("{token}");
            Ok(())
        }
    }
}
