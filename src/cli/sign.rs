//! `kpcert sign`: an authority that keeps its own key signs a certificate on its own machine.
//! It takes the certificate request (the JSON of `POST /v1/certificates`) and what
//! `GET /v1/certificates/next` answered (from a file, or fetched with `--url`), checks every rule
//! of issuance it can check locally, and writes the canonical certificate, the issuance, its
//! signature and the seal (the body of `POST /v1/certificates/signed`), made by the same producer
//! as the service's own issuance ([`crate::codec::record::issue`]). The private key is read
//! here and never sent. With `--submit` it sends the result and prints the recorded certificate.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::json;

use crate::client::Client;
use crate::codec::text::base64;
use crate::keys::KeyDir;
use crate::views::NextNumberView;

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The authority's private key file (`kpcert keys new`), mode 0600.
    #[arg(long)]
    key: PathBuf,
    /// The certificate request: the JSON body of `POST /v1/certificates`.
    #[arg(long)]
    request: PathBuf,
    /// The answer of `GET /v1/certificates/next`, saved to a file (to sign on a machine that
    /// is not connected); without it, --url is asked. It wins over --url (and KPCERT_URL).
    #[arg(long)]
    next: Option<PathBuf>,
    /// A running kpcert server to ask for the next number (and, with --submit, to send the
    /// signed certificate to).
    #[arg(long, env = "KPCERT_URL")]
    url: Option<String>,
    /// The authority's bearer token for --url.
    #[arg(long, env = "KPCERT_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// PEM certificate(s) to trust for --url instead of the system's roots.
    #[arg(long, env = "KPCERT_CACERT")]
    cacert: Option<PathBuf>,
    /// Where to write the signed certificate (JSON for `POST /v1/certificates/signed`);
    /// standard output when absent.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Send the signed certificate to --url and print the recorded certificate.
    #[arg(long, requires = "url")]
    submit: bool,
}

pub fn run(args: &SignArgs) -> anyhow::Result<()> {
    let (dir, name) = KeyDir::of_key_file(&args.key)?;
    let key = dir
        .load(&name)
        .with_context(|| format!("cannot read the key {}", args.key.display()))?;
    // The server is needed only to fetch the next number or to submit.
    let needs_server = args.next.is_none() || args.submit;
    let remote = match &args.url {
        Some(url) if needs_server => {
            let token = args
                .token
                .clone()
                .context("--url needs the authority's token (--token or KPCERT_TOKEN)")?;
            let pem = match &args.cacert {
                Some(p) => {
                    Some(std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?)
                }
                None => None,
            };
            Some((Client::new(url, pem.as_deref())?, token))
        }
        _ => None,
    };
    let next_text = match (&args.next, &remote) {
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
    let next = next
        .parse()
        .map_err(|e| anyhow::anyhow!("the next number: {e}"))?;
    let key_id = key.public_key().key_id();
    if key_id != next.issuer.key_id {
        bail!(
            "{} is key {key_id}, but the current key of authority {} is {}: sign with that key",
            args.key.display(),
            next.issuer.authority_id,
            next.issuer.key_id
        );
    }

    let request = std::fs::read(&args.request)
        .with_context(|| format!("cannot read {}", args.request.display()))?;
    let value: serde_json::Value = serde_json::from_slice(&request)
        .with_context(|| format!("{} is not JSON", args.request.display()))?;
    let problems_text = |problems: &[crate::domain::Problem]| {
        problems
            .iter()
            .map(|p| format!("  {}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("\n")
    };
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
    let certificate = next
        .certificate(&input, crate::crypto::random_bytes())
        .map_err(|p| {
            anyhow::anyhow!(
                "the request breaks {} rule(s) of issuance:\n{}",
                p.len(),
                problems_text(&p)
            )
        })?;
    let signed = crate::codec::record::issue(certificate, |m| key.sign(m));
    let record = signed.record.as_ref().expect("issue keeps the record");
    let body = json!({
        "canonical": base64(&record.canonical),
        "issuance": base64(&signed.signed),
        "signature": base64(&signed.signature),
        "seal": base64(&record.seal),
    });
    let text = format!("{}\n", serde_json::to_string_pretty(&body)?);
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "signed {} with key {key_id}: {} (send it with POST /v1/certificates/signed)",
                next.number,
                path.display()
            );
        }
        None if !args.submit => std::io::stdout().write_all(text.as_bytes())?,
        None => {}
    }
    if args.submit {
        let (client, token) = remote.as_ref().expect("--submit requires --url");
        let (status, answer) = client.send(
            "POST",
            "/v1/certificates/signed",
            token,
            Some(body.to_string()),
        )?;
        if status != 201 {
            bail!("the server refused {} ({status}): {answer}", next.number);
        }
        println!("{answer}");
    }
    Ok(())
}
