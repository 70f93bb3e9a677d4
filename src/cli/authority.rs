//! `kpcert authority add | list | token`: issuing authorities and their bearer tokens. These
//! need the data folder's lock: while a server holds it they stop at once and say so.

use anyhow::bail;
use clap::Subcommand;
use serde_json::json;

use super::{open, Dirs};

#[derive(Subcommand, Debug)]
pub enum AuthorityCommand {
    /// Register an issuing authority, generate its signing key and print its token once.
    Add {
        #[command(flatten)]
        dirs: Dirs,
        /// KP participant code (ISO 3166-1 alpha-2, or EU).
        #[arg(long)]
        participant: String,
        /// Official name of the authority.
        #[arg(long)]
        name: String,
        /// Longest validity the authority may give a certificate, in days.
        #[arg(long, default_value_t = 90)]
        max_validity_days: u32,
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
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Mint a new bearer token for an authority (printed once).
    Token {
        #[command(flatten)]
        dirs: Dirs,
        /// Authority id, e.g. BW-A1.
        #[arg(long)]
        authority: String,
        /// Revoke the authority's earlier tokens first.
        #[arg(long)]
        revoke_others: bool,
    },
}

/// Opens an existing ledger for a command that reads or changes it without creating it.
fn open_existing(dirs: &Dirs) -> anyhow::Result<crate::app::App> {
    if !crate::ledger::Ledger::holds_entries(&dirs.data_dir) {
        bail!(
            "no ledger in {} (nothing was created): check --data-dir, or register an authority first with `kpcert authority add`",
            dirs.data_dir.display()
        );
    }
    open(dirs, None)
}

pub fn run(cmd: AuthorityCommand) -> anyhow::Result<()> {
    match cmd {
        AuthorityCommand::Add {
            dirs,
            participant,
            name,
            max_validity_days,
            json,
            origin,
        } => {
            let app = open(&dirs, origin)?;
            let new = app.add_authority(&participant, &name, max_validity_days);
            app.close();
            let new = new?;
            let a = &new.authority;
            if json {
                println!(
                    "{}",
                    json!({"authority_id": a.id, "key_id": a.key_id().to_string(), "token": new.token,
                           "participant": a.participant.as_str(), "name": a.name})
                );
            } else {
                println!("authority_id: {}", a.id);
                println!("participant:  {}", a.participant);
                println!("name:         {}", a.name);
                println!("key_id:       {}", a.key_id());
                println!("token:        {}", new.token);
                println!();
                println!("The token is shown once; only its hash is stored.");
                println!(
                    "Certificates this authority issues are valid for {} days unless the request says otherwise, {} days at most.",
                    a.default_validity_days, a.max_validity_days
                );
            }
            Ok(())
        }
        AuthorityCommand::List { dirs, json } => {
            let app = open_existing(&dirs)?;
            let list: Vec<_> = app
                .authorities()
                .into_iter()
                .map(|a| {
                    let can_issue = app.can_issue(&a.id);
                    (a, can_issue)
                })
                .collect();
            app.close();
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|(a, can_issue)| {
                        json!({"authority_id": a.id, "participant": a.participant.as_str(), "name": a.name,
                               "key_id": a.key_id().to_string(), "max_validity_days": a.max_validity_days,
                               "can_issue": can_issue})
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for (a, can_issue) in list {
                    let status = if can_issue {
                        ""
                    } else {
                        "  (no signing key here: cannot issue)"
                    };
                    println!(
                        "{:<8} {}  {}  key {}{status}",
                        a.id,
                        a.participant,
                        a.name,
                        a.key_id()
                    );
                }
            }
            Ok(())
        }
        AuthorityCommand::Token {
            dirs,
            authority,
            revoke_others,
        } => {
            let app = open_existing(&dirs)?;
            let result = (|| {
                if app.state().authority(&authority).is_none() {
                    bail!("no authority {authority} (see `kpcert authority list`)");
                }
                if revoke_others {
                    let n = app.revoke_tokens(&authority)?;
                    eprintln!("revoked {n} earlier token(s)");
                }
                Ok(app.new_token(&authority)?)
            })();
            app.close();
            println!("{}", result?);
            Ok(())
        }
    }
}
