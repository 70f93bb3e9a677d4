//! `kpcert token mint | list | revoke`: bearer tokens of any role (secretariat, authority,
//! monitor). With `--url` and a Secretariat token they go through the running server's admin
//! API and take effect at once; without, they open the data folder, which they cannot while a
//! server holds it (then they stop at once and say to use `--url`). A token is printed once.

use anyhow::bail;
use clap::Subcommand;
use serde_json::{json, Value};

use super::authority::{call, open_existing, with_hint, Remote};
use super::Dirs;
use crate::tokens::Role;
use crate::views::TokenView;

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Mint a token (printed once): for a monitoring team, another Secretariat officer, or an
    /// authority (owner: its id, e.g. BW-A1).
    Mint {
        #[command(flatten)]
        dirs: Dirs,
        #[command(flatten)]
        remote: Remote,
        /// secretariat, authority or monitor.
        #[arg(long)]
        role: String,
        /// Who holds it: a team or person, or the authority id for role authority.
        #[arg(long)]
        owner: String,
        /// Days the token lives.
        #[arg(long, default_value_t = crate::tokens::DEFAULT_TOKEN_DAYS)]
        days: u64,
    },
    /// List the tokens (prefix, role, owner, created, expires, last used; never the token).
    List {
        #[command(flatten)]
        dirs: Dirs,
        #[command(flatten)]
        remote: Remote,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Revoke the token(s) whose prefix is PREFIX, exactly as `list` shows it (its first 13
    /// characters), or the token given whole (a leaked one).
    Revoke {
        #[command(flatten)]
        dirs: Dirs,
        #[command(flatten)]
        remote: Remote,
        #[arg(long)]
        prefix: String,
    },
}

pub fn run(cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Mint {
            dirs,
            remote,
            role,
            owner,
            days,
        } => {
            let Some(parsed) = Role::parse(&role) else {
                bail!("--role must be secretariat, authority or monitor, not {role}");
            };
            let token = match remote.client()? {
                Some((client, admin)) => {
                    let minted = call(
                        &client,
                        &admin,
                        "POST",
                        "/v1/admin/tokens",
                        Some(json!({"role": role, "owner": owner, "days": days})),
                        201,
                    )?;
                    match minted["token"].as_str() {
                        Some(t) if !t.is_empty() => t.to_owned(),
                        _ => bail!("the server's answer holds no token: {minted}"),
                    }
                }
                None => {
                    let app = with_hint(open_existing(&dirs))?;
                    let minted = app.mint_token(parsed, &owner, days);
                    app.close();
                    minted?
                }
            };
            eprintln!("{role} token for {owner}, valid {days} days (shown once; keep it safe):");
            println!("{token}");
        }
        TokenCommand::List { dirs, remote, json } => {
            let list: Value = match remote.client()? {
                Some((client, admin)) => {
                    call(&client, &admin, "GET", "/v1/admin/tokens", None, 200)?
                }
                None => {
                    let app = with_hint(open_existing(&dirs))?;
                    let list: Vec<TokenView> =
                        app.tokens().list().iter().map(TokenView::of).collect();
                    app.close();
                    serde_json::to_value(list)?
                }
            };
            if json {
                println!("{list}");
            } else {
                for t in list.as_array().cloned().unwrap_or_default() {
                    let s = |k: &str| t[k].as_str().unwrap_or("-").to_owned();
                    println!(
                        "{:<14} {:<12} {:<32} expires {}  last used {}",
                        s("prefix"),
                        s("role"),
                        s("owner"),
                        s("expires"),
                        s("last_used")
                    );
                }
            }
        }
        TokenCommand::Revoke {
            dirs,
            remote,
            prefix,
        } => {
            if prefix.is_empty()
                || !prefix
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                bail!("--prefix is the start of a token as `kpcert token list` shows it (letters, digits, _ and -)");
            }
            let n = match remote.client()? {
                Some((client, admin)) => {
                    let answer = call(
                        &client,
                        &admin,
                        "DELETE",
                        &format!("/v1/admin/tokens/{prefix}"),
                        None,
                        200,
                    )?;
                    answer["revoked"].as_u64().unwrap_or(0) as usize
                }
                None => {
                    let app = with_hint(open_existing(&dirs))?;
                    let n = app.tokens().revoke(&prefix);
                    app.close();
                    n?
                }
            };
            if n == 0 {
                bail!("{}", crate::tokens::Tokens::nothing_revoked(&prefix));
            }
            println!("revoked {n} token(s)");
        }
    }
    Ok(())
}
