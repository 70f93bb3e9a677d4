//! `kpcert sign`: an authority that keeps its own key signs a certificate on its own machine.
//! It takes the certificate request (the JSON of `POST /v1/certificates`) and what
//! `GET /v1/certificates/next` answered (from a file, or fetched with `--url`), checks every rule
//! of issuance it can check locally, and writes the canonical certificate, the issuance, its
//! signature and the seal (the body of `POST /v1/certificates/signed`), made by the same producer
//! as the service's own issuance ([`crate::codec::record::issue`]). The private key is read
//! here and never sent. With `--submit` it sends the result and prints the recorded certificate.
//!
//! The same authority signs its certificates' lifecycle here too: `kpcert sign confirm` (what
//! arrived, for `POST /v1/certificates/{number}/import-confirmation/signed`), `kpcert sign
//! void` and `kpcert sign replace` (a new certificate and the void of the old one, for
//! `.../replace/signed`), made by the service's own producers ([`crate::codec::lifecycle`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::app::NextNumber;
use crate::client::Client;
use crate::codec::text::base64;
use crate::crypto::SigningKey;
use crate::domain::{CertificateNumber, Problem};
use crate::keys::KeyDir;
use crate::views::NextNumberView;

/// The server to ask (the next number) and to send to (`--submit`).
#[derive(Args, Debug)]
struct Server {
    /// A running kpcert server: asked for the next number when signing a certificate without
    /// --next, and sent the signed document with --submit.
    #[arg(long, env = "KPCERT_URL")]
    url: Option<String>,
    /// The authority's bearer token for --url.
    #[arg(long, env = "KPCERT_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// PEM certificate(s) to trust for --url instead of the system's roots.
    #[arg(long, env = "KPCERT_CACERT")]
    cacert: Option<PathBuf>,
    /// Where to write the signed document (the JSON body of its POST route); standard output
    /// when absent.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Send the signed document to --url and print the server's answer.
    #[arg(long, requires = "url")]
    submit: bool,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SignArgs {
    #[command(subcommand)]
    lifecycle: Option<Lifecycle>,
    /// The authority's private key file (`kpcert keys new`), mode 0600.
    #[arg(long)]
    key: Option<PathBuf>,
    /// The certificate request: the JSON body of `POST /v1/certificates`.
    #[arg(long)]
    request: Option<PathBuf>,
    /// The answer of `GET /v1/certificates/next`, saved to a file (to sign on a machine that
    /// is not connected); without it, --url is asked. It wins over --url (and KPCERT_URL).
    #[arg(long)]
    next: Option<PathBuf>,
    /// The monitoring team approved this very request file beforehand (a partially suspended
    /// participant whose terms require prior approval): the certificate cites the approval by
    /// the file's SHA-256.
    #[arg(long)]
    approved: bool,
    #[command(flatten)]
    server: Server,
}

/// A certificate's life, signed with the authority's own key.
#[derive(Subcommand, Debug)]
enum Lifecycle {
    /// Confirm the arrival of a certificate sent to the authority's participant: writes the
    /// body of POST /v1/certificates/{number}/import-confirmation/signed.
    Confirm {
        /// The authority's private key file, mode 0600.
        #[arg(long)]
        key: PathBuf,
        /// The id of the authority that confirms (its key's owner), e.g. AE-A1.
        #[arg(long)]
        authority: String,
        /// The certificate that arrived.
        #[arg(long)]
        number: String,
        /// What arrived: the JSON body of POST /v1/certificates/{number}/import-confirmation.
        #[arg(long)]
        request: PathBuf,
        #[command(flatten)]
        server: Server,
    },
    /// Void a certificate of the authority's participant: writes the body of
    /// POST /v1/certificates/{number}/void/signed.
    Void {
        /// The authority's private key file, mode 0600.
        #[arg(long)]
        key: PathBuf,
        /// The id of the authority that voids (its key's owner).
        #[arg(long)]
        authority: String,
        /// The certificate to void.
        #[arg(long)]
        number: String,
        /// Why it is void (shown to every border officer who scans it).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: Server,
    },
    /// Replace a certificate of the authority's participant with a new one: signs the new
    /// certificate (the next number, `replaces` the old one) and the void of the old one that
    /// names it; writes the body of POST /v1/certificates/{number}/replace/signed.
    Replace {
        /// The authority's private key file, mode 0600.
        #[arg(long)]
        key: PathBuf,
        /// The certificate replaced.
        #[arg(long)]
        number: String,
        /// Why it is replaced.
        #[arg(long)]
        reason: String,
        /// The new certificate: the JSON body of POST /v1/certificates.
        #[arg(long)]
        request: PathBuf,
        /// GET /v1/certificates/next saved to a file; without it, --url is asked.
        #[arg(long)]
        next: Option<PathBuf>,
        /// The monitoring team approved this very request file (see `kpcert sign --approved`).
        #[arg(long)]
        approved: bool,
        #[command(flatten)]
        server: Server,
    },
}

fn problems_text(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {}: {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join("\n")
}

fn load_key(path: &Path) -> anyhow::Result<SigningKey> {
    let (dir, name) = KeyDir::of_key_file(path)?;
    dir.load(&name)
        .with_context(|| format!("cannot read the key {}", path.display()))
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", path.display()))
}

fn number_of(text: &str) -> anyhow::Result<CertificateNumber> {
    CertificateNumber::parse(text)
        .with_context(|| format!("{text:?} is not a certificate number (such as BW-2026-000001)"))
}

impl Server {
    /// The client and token for --url, when the command needs the server.
    fn remote(&self, needed: bool) -> anyhow::Result<Option<(Client, String)>> {
        let Some(url) = self.url.as_ref().filter(|_| needed) else {
            return Ok(None);
        };
        let token = self
            .token
            .clone()
            .context("--url needs the authority's token (--token or KPCERT_TOKEN)")?;
        let pem = match &self.cacert {
            Some(p) => {
                Some(std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?)
            }
            None => None,
        };
        Ok(Some((Client::new(url, pem.as_deref())?, token)))
    }

    /// Writes `body` (to --out or standard output) and, with --submit, sends it to `route`.
    fn deliver(
        &self,
        remote: &Option<(Client, String)>,
        body: &Value,
        route: &str,
        what: &str,
    ) -> anyhow::Result<()> {
        let text = format!("{}\n", serde_json::to_string_pretty(body)?);
        match &self.out {
            Some(path) => {
                std::fs::write(path, &text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!(
                    "signed {what}: {} (send it with POST {route})",
                    path.display()
                );
            }
            None if !self.submit => std::io::stdout().write_all(text.as_bytes())?,
            None => {}
        }
        if self.submit {
            let (client, token) = remote.as_ref().expect("--submit requires --url");
            let (status, answer) = client.send("POST", route, token, Some(body.to_string()))?;
            if status != 201 {
                bail!("the server refused {what} ({status}): {answer}");
            }
            println!("{answer}");
        }
        Ok(())
    }
}

/// The next number, from `--next` or asked of the server.
fn next_number(
    next: &Option<PathBuf>,
    remote: &Option<(Client, String)>,
) -> anyhow::Result<NextNumber> {
    let next_text = match (next, remote) {
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        (None, Some((client, token))) => {
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut client.get("/v1/certificates/next", Some(token))?,
                &mut text,
            )?;
            text
        }
        (None, None) => bail!(
            "give --next NEXT.json (GET /v1/certificates/next saved to a file) or --url and --token"
        ),
    };
    let next: NextNumberView = serde_json::from_str(&next_text)
        .context("the next number is not the JSON of GET /v1/certificates/next")?;
    next.parse()
        .map_err(|e| anyhow::anyhow!("the next number: {e}"))
}

/// The body of `POST /v1/certificates/signed`: the certificate of `request_path` under `next`,
/// signed with `key` (which must be the authority's current key); with `replaces`, stating the
/// certificate it replaces.
fn certificate_body(
    key: &SigningKey,
    key_path: &Path,
    next: &NextNumber,
    request_path: &Path,
    replaces: Option<CertificateNumber>,
    approved: bool,
) -> anyhow::Result<Value> {
    let key_id = key.public_key().key_id();
    if key_id != next.issuer.key_id {
        bail!(
            "{} is key {key_id}, but the current key of authority {} is {}: sign with that key",
            key_path.display(),
            next.issuer.authority_id,
            next.issuer.key_id
        );
    }
    let bytes = std::fs::read(request_path)
        .with_context(|| format!("cannot read {}", request_path.display()))?;
    let value: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", request_path.display()))?;
    let (input, claimed) = crate::http::parse_issue_request(&value).map_err(|p| {
        anyhow::anyhow!(
            "the request has {} problem(s):\n{}",
            p.len(),
            problems_text(&p)
        )
    })?;
    if let Some(claimed) = claimed {
        if claimed != next.issuer.participant.as_str() {
            bail!(
                "the request names issuer {claimed}, but authority {} issues for {}",
                next.issuer.authority_id,
                next.issuer.participant
            );
        }
    }
    let mut certificate = next
        .certificate(&input, crate::crypto::random_bytes())
        .map_err(|p| {
            anyhow::anyhow!(
                "the request breaks {} rule(s) of issuance:\n{}",
                p.len(),
                problems_text(&p)
            )
        })?;
    certificate.content.replaces = replaces;
    if approved {
        certificate.content.approval = Some(crate::crypto::sha256(&bytes));
    }
    let signed = crate::codec::record::issue(certificate, |m| key.sign(m));
    let record = signed.record.as_ref().expect("issue keeps the record");
    Ok(json!({
        "canonical": base64(&record.canonical),
        "issuance": base64(&signed.signed),
        "signature": base64(&signed.signature),
        "seal": base64(&record.seal),
    }))
}

pub fn run(args: &SignArgs) -> anyhow::Result<()> {
    if let Some(lifecycle) = &args.lifecycle {
        return run_lifecycle(lifecycle);
    }
    let (Some(key_path), Some(request_path)) = (&args.key, &args.request) else {
        bail!("give --key and --request (or a subcommand: confirm, void, replace)");
    };
    let key = load_key(key_path)?;
    // The server is needed only to fetch the next number or to submit.
    let remote = args
        .server
        .remote(args.next.is_none() || args.server.submit)?;
    let next = next_number(&args.next, &remote)?;
    let body = certificate_body(&key, key_path, &next, request_path, None, args.approved)?;
    let what = format!("{} with key {}", next.number, next.issuer.key_id);
    args.server
        .deliver(&remote, &body, "/v1/certificates/signed", &what)
}

/// The body of a signed void of `number` by `authority` with `key`.
fn void_body(
    key: &SigningKey,
    authority: &str,
    number: CertificateNumber,
    reason: &str,
    replaced_by: Option<CertificateNumber>,
) -> anyhow::Result<Value> {
    let reason = crate::domain::certificate::normalized(reason.trim());
    crate::domain::lifecycle::lifecycle_text_rule(&reason)
        .map_err(|why| anyhow::anyhow!("--reason {why}"))?;
    let signed = crate::codec::lifecycle::void(
        crate::domain::Void {
            number,
            authority_id: authority.to_owned(),
            key_id: key.public_key().key_id(),
            reason,
            replaced_by,
        },
        |m| key.sign(m),
    );
    Ok(json!({
        "void": base64(&signed.signed),
        "signature": base64(&signed.signature),
    }))
}

fn run_lifecycle(command: &Lifecycle) -> anyhow::Result<()> {
    match command {
        Lifecycle::Confirm {
            key,
            authority,
            number,
            request,
            server,
        } => {
            let key_path = key;
            let key = load_key(key_path)?;
            let number = number_of(number)?;
            let value = read_json(request)?;
            let (input, wire) = crate::http::json::arrival_from_json(&value)
                .map_err(|e| anyhow::anyhow!("{}: {}", request.display(), e.message))?;
            // The date of issue is the server's to check; locally the arrival may not be
            // dated before the certificate's year nor after today.
            let year_start = crate::domain::Date::parse(&format!("{}-01-01", number.year()))
                .context("the certificate's year")?;
            let today = crate::clock::Clock::today(&crate::clock::SystemClock);
            let mut problems = wire;
            let content = crate::domain::ArrivalContent::validate(&input, year_start, today);
            let content = match content {
                Ok(c) if problems.is_empty() => c,
                Ok(_) => bail!("the arrival has problems:\n{}", problems_text(&problems)),
                Err(found) => {
                    problems.extend(found);
                    bail!("the arrival has problems:\n{}", problems_text(&problems))
                }
            };
            let arrival = crate::domain::Arrival {
                number: number.clone(),
                received_on: content.received_on,
                parcels: content.parcels,
                items: content.items,
                remarks: content.remarks,
                salt: crate::crypto::random_bytes(),
            };
            let key_id = key.public_key().key_id();
            let signed =
                crate::codec::lifecycle::confirm(arrival, authority, key_id, Vec::new(), |m| {
                    key.sign(m)
                });
            let record = signed.record.as_ref().expect("confirm keeps the record");
            let body = json!({
                "arrival": base64(&record.canonical),
                "confirmation": base64(&signed.signed),
                "signature": base64(&signed.signature),
            });
            let remote = server.remote(server.submit)?;
            server.deliver(
                &remote,
                &body,
                &format!("/v1/certificates/{number}/import-confirmation/signed"),
                &format!("the confirmation of {number} with key {key_id}"),
            )
        }
        Lifecycle::Void {
            key,
            authority,
            number,
            reason,
            server,
        } => {
            let key = load_key(key)?;
            let number = number_of(number)?;
            let body = void_body(&key, authority, number.clone(), reason, None)?;
            let remote = server.remote(server.submit)?;
            server.deliver(
                &remote,
                &body,
                &format!("/v1/certificates/{number}/void/signed"),
                &format!("the void of {number}"),
            )
        }
        Lifecycle::Replace {
            key,
            number,
            reason,
            request,
            next,
            approved,
            server,
        } => {
            let key_path = key;
            let key = load_key(key_path)?;
            let old = number_of(number)?;
            let remote = server.remote(next.is_none() || server.submit)?;
            let next = next_number(next, &remote)?;
            let certificate =
                certificate_body(&key, key_path, &next, request, Some(old.clone()), *approved)?;
            let mut body = void_body(
                &key,
                &next.issuer.authority_id,
                old.clone(),
                reason,
                Some(next.number.clone()),
            )?;
            body["certificate"] = certificate;
            server.deliver(
                &remote,
                &body,
                &format!("/v1/certificates/{old}/replace/signed"),
                &format!("the replacement of {old} by {}", next.number),
            )
        }
    }
}
