//! `kpcert verify`: the offline border check, with no network: a scanned QR code (text or PNG)
//! against a trust bundle signed by the pinned Secretariat root key, through the same verdict
//! engine as the online check.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::Args;

use crate::clock::{Clock, SystemClock};
use crate::codec::text::from_hex;
use crate::codec::trust::TrustBundle;
use crate::crypto::PublicKey;
use crate::keys::{KeyDir, ROOT_KEY};
use crate::verify::{verify_qr, Verdict};
use crate::views::{BundleAgeView, ClaimsView, VerificationView};

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The trust bundle file (saved from GET /v1/trust-bundle).
    #[arg(long)]
    trust: PathBuf,
    /// A PNG image of the QR code.
    #[arg(long, conflicts_with = "qr_text", required_unless_present = "qr_text")]
    qr_image: Option<PathBuf>,
    /// The scanned QR text.
    #[arg(long)]
    qr_text: Option<String>,
    /// The Secretariat root public key (64 hex digits); default: root.pub in the keys folder.
    #[arg(long)]
    root_key: Option<String>,
    #[arg(long, env = "KPCERT_KEYS_DIR", default_value = "keys")]
    keys_dir: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn root_key(args: &VerifyArgs) -> anyhow::Result<PublicKey> {
    match &args.root_key {
        Some(k) => from_hex(k.trim())
            .and_then(|b| PublicKey::from_bytes(&b).ok())
            .ok_or_else(|| anyhow!("the root key must be 64 hex digits of an ed25519 public key")),
        None => KeyDir::existing(&args.keys_dir)
            .and_then(|keys| keys.load_public(ROOT_KEY))
            .with_context(|| {
                format!(
                    "no --root-key given and no root.pub in {}",
                    args.keys_dir.display()
                )
            }),
    }
}

/// Returns whether the verdict is `valid`.
pub fn run(args: &VerifyArgs) -> anyhow::Result<bool> {
    let root = root_key(args)?;
    let bundle_text = std::fs::read_to_string(&args.trust)
        .with_context(|| format!("cannot read {}", args.trust.display()))?;
    let bundle = TrustBundle::open_signed_json(&bundle_text, &root)?;
    let text = match (&args.qr_text, &args.qr_image) {
        (Some(t), _) => t.clone(),
        (None, Some(path)) => {
            let png =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            crate::qr::read_png(&png)
                .map_err(anyhow::Error::msg)?
                .remove(0)
        }
        (None, None) => anyhow::bail!("give --qr-text or --qr-image"),
    };
    let clock = SystemClock;
    let now = clock.now_ms();
    let Ok(v) = verify_qr(&bundle, &text, clock.today());
    let age = BundleAgeView {
        issued_at: crate::domain::date::format_unix_ms(bundle.issued_at_ms),
        age_hours: now.saturating_sub(bundle.issued_at_ms) as f64 / 3_600_000.0,
        stale: now > bundle.next_update_ms,
    };
    let stale = age.stale;
    let age_hours = age.age_hours;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&VerificationView::offline(&v, now, age))?
        );
    } else {
        println!("verdict: {}", crate::views::verdict_words(v.verdict).0);
        for reason in &v.reasons {
            println!("reason:  {reason}");
        }
        if let Some(claims) = &v.claims {
            let c = ClaimsView::of(claims);
            println!(
                "certificate {}  issued by {} ({})",
                c.number, c.issuer.participant, c.issuer.authority_id
            );
            println!("exporter    {}", c.exporter.name);
            println!("importer    {}", c.importer.name);
            println!("destination {}   parcels {}", c.destination, c.parcels);
            println!(
                "origin      {}{}",
                if c.origin.mixed { "mixed: " } else { "" },
                c.origin.countries.join(", ")
            );
            for i in &c.items {
                println!(
                    "goods       {}  {} ct  USD {}",
                    i.hs_code, i.carats, i.value_usd
                );
            }
            println!("issued on   {}   expires on {}", c.issued_on, c.expires_on);
        }
        println!(
            "trust bundle issued {age_hours:.1} h ago{}",
            if stale {
                " - PAST ITS NEXT UPDATE: fetch a new one when you can"
            } else {
                ""
            }
        );
    }
    if stale {
        eprintln!("warning: the trust bundle is past its next_update");
    }
    Ok(v.verdict == Verdict::Valid)
}
