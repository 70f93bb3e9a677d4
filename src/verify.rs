//! The one verdict engine: a border check of a scanned QR code (or a certificate number) against
//! what the verifier trusts. Online the service trusts its ledger ([`LedgerTrust`]); offline a
//! border post trusts a signed trust bundle ([`TrustBundle`]). Both go through [`verify_qr`], in
//! the same order of checks, so the same facts give the same verdict; only the ledger can also
//! say whether the certificate was recorded and whether the seal matches the record.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::codec::seal::{open, seal_from_qr_text, DateProblem, OpenedSeal, SealClaims};
use crate::codec::trust::{BundleState, TrustBundle};
use crate::crypto::{KeyId, PublicKey};
use crate::domain::date::format_unix_ms;
use crate::domain::state::RevocationCheck;
use crate::domain::{CertificateNumber, CountryCode, Date, KeyWindow, StandingHistory, State};

/// The verdict of a border check. The strings are part of the API (`verdict`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A seal signed by a trusted key, matching the ledger record (online), not expired.
    Valid,
    /// Not a kpcert seal: prefix, encoding or CBOR wrong.
    Malformed,
    /// The signature fails, the key is unknown or was not valid, the issuer is not a registered
    /// participant, the seal differs from the ledger's record, or its date of issue is in the
    /// future.
    Forged,
    /// A valid signature by a trusted key, but no such certificate in the ledger (key misuse).
    NotInLedger,
    /// Signed with a key the Secretariat recorded as compromised from a time at or before the
    /// certificate's ledger entry.
    KeyRevoked,
    /// The issuing participant was not in good standing when it issued (suspended,
    /// self-suspended, removed, an applicant, or under an embargo), or a decision orders
    /// participants to refuse its certificates from a date that has passed.
    IssuerSuspended,
    /// Voided by its issuing authority (perhaps replaced by another certificate).
    Void,
    /// Its arrival was already confirmed by the importing authority: presented again, it is
    /// being re-used.
    Imported,
    /// Past its date of expiry.
    Expired,
    /// No certificate with that number.
    Unknown,
}

impl Verdict {
    /// Every verdict (the metrics count each).
    pub const ALL: [Verdict; 10] = [
        Verdict::Valid,
        Verdict::Void,
        Verdict::Imported,
        Verdict::IssuerSuspended,
        Verdict::KeyRevoked,
        Verdict::Malformed,
        Verdict::Forged,
        Verdict::NotInLedger,
        Verdict::Expired,
        Verdict::Unknown,
    ];

    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Malformed => "malformed",
            Verdict::Forged => "forged",
            Verdict::NotInLedger => "not_in_ledger",
            Verdict::KeyRevoked => "key_revoked",
            Verdict::IssuerSuspended => "issuer_suspended",
            Verdict::Void => "void",
            Verdict::Imported => "imported",
            Verdict::Expired => "expired",
            Verdict::Unknown => "unknown",
        }
    }
}

/// An authority key as the verifier trusts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    pub authority_id: String,
    pub participant: CountryCode,
    pub authority_name: String,
    pub key: KeyWindow,
}

/// What a ledger's state holds of an issued certificate, as a scanned seal's verdict needs it,
/// without reading the certificate's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Issued {
    /// SHA-256 of the seal kept in its record (`None` in a state built without the records).
    pub seal_hash: Option<crate::crypto::Hash>,
    /// The index of the issuance's entry.
    pub entry_index: u64,
}

/// What a ledger records of a certificate, as a verdict on its number needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The claims a seal of the recorded certificate states.
    pub claims: SealClaims,
    /// SHA-256 of the seal kept in the record.
    pub seal_hash: crate::crypto::Hash,
    /// The time of its ledger entry (unix ms): what a key's compromise is judged against.
    pub entry_ms: u64,
    /// The key that signed it.
    pub key_id: KeyId,
    /// The index of its issuance entry.
    pub entry_index: u64,
}

/// An import confirmation as a verdict needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportFact {
    pub received_on: Date,
    pub authority_id: String,
    pub entry_index: u64,
}

/// A void as a verdict needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoidFact {
    pub on: Date,
    pub authority_id: String,
    /// The reason (online; a trust bundle leaves it out).
    pub reason: Option<String>,
    pub replaced_by: Option<CertificateNumber>,
    pub entry_index: u64,
}

/// What the verifier knows of a certificate's life after issuance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LifeFacts {
    pub imported: Option<ImportFact>,
    pub void: Option<VoidFact>,
}

impl LifeFacts {
    /// What the ledger state says of certificate `number`.
    pub fn of_state(state: &State, number: &CertificateNumber) -> LifeFacts {
        let Some(life) = state.life(number) else {
            return LifeFacts::default();
        };
        LifeFacts {
            imported: life.confirmed.as_ref().map(|c| ImportFact {
                received_on: c.received_on,
                authority_id: c.authority_id.clone(),
                entry_index: c.index,
            }),
            void: life.voided.as_ref().map(|v| VoidFact {
                on: Date::from_unix_ms(v.time_ms),
                authority_id: v.authority_id.clone(),
                reason: Some(v.reason.clone()),
                replaced_by: v.replaced_by.clone(),
                entry_index: v.index,
            }),
        }
    }
}

/// What the verifier can say about a certificate number in a ledger.
pub enum Lookup<F> {
    /// This verifier has no ledger (offline).
    Unavailable,
    /// The ledger holds no such certificate.
    Missing,
    /// What the ledger holds of it.
    Found(F),
}

/// What a verifier trusts.
pub trait Trust {
    /// What the ledger look-up returns beside the claims (the entry and its proof, online).
    type Record;
    type Error;

    /// Every trusted key with key id `id` (a key id is a truncated hash: try every one).
    fn keys_with_id(&self, id: &KeyId) -> Vec<TrustedKey>;

    /// The standing of participant `code` over time; `None` if it is not a participant.
    fn standing(&self, code: CountryCode) -> Option<&StandingHistory>;

    /// The ledger's record of certificate `number` (read and checked against its entry), and
    /// whatever the caller keeps with it.
    #[allow(clippy::type_complexity)]
    fn record(
        &self,
        number: &CertificateNumber,
    ) -> Result<Lookup<(Recorded, Self::Record)>, Self::Error>;

    /// What the ledger's state holds of issued certificate `number` (no record is read).
    fn issued(&self, number: &CertificateNumber) -> Lookup<Issued>;

    /// When what this verifier trusts was issued (unix ms), if it is a copy that ages (a trust
    /// bundle); `None` for the live ledger.
    fn as_of_ms(&self) -> Option<u64> {
        None
    }

    /// What this verifier knows of certificate `number`'s life after issuance (void, import).
    fn life(&self, number: &CertificateNumber) -> LifeFacts;

    /// Whether `key` signed `seal`. Only the signature is ever remembered (see [`SealCache`]):
    /// the verdict is always judged afresh from what the verifier trusts now.
    fn signed_by(&self, seal: &OpenedSeal, key: &PublicKey) -> bool {
        seal.verify(key)
    }
}

/// Signatures already verified: the fact "these exact seal bytes carry a valid `verify_strict`
/// signature by this public key" never changes, so a seal scanned again at the border is not
/// verified again. Nothing else is kept: whether the key was valid on the day, revoked, the
/// issuer's standing, the ledger record, void, import and expiry are judged on every check
/// from the ledger's state of that moment, so every event that can change a verdict changes
/// it at once. Only successes are remembered (a forged seal costs its verification every
/// time); two generations of at most [`SealCache::GENERATION`] entries bound the memory.
#[derive(Default)]
pub struct SealCache {
    generations: Mutex<(HashSet<crate::crypto::Hash>, HashSet<crate::crypto::Hash>)>,
    remembered: std::sync::atomic::AtomicU64,
}

impl SealCache {
    /// Entries per generation (32 bytes each).
    pub const GENERATION: usize = 65_536;

    /// Whether `key` signed `seal`, verifying it only if these bytes were not verified before.
    pub fn signed_by(&self, seal: &OpenedSeal, key: &PublicKey) -> bool {
        let (to_be_signed, signature) = seal.signed_parts();
        let fact = crate::crypto::sha256_parts(&[
            b"kpcert verified seal v1\0",
            &key.to_bytes(),
            signature,
            to_be_signed,
        ]);
        {
            let g = self.generations.lock().unwrap_or_else(|p| p.into_inner());
            if g.0.contains(&fact) || g.1.contains(&fact) {
                self.remembered
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                crate::metrics::global().seal_signature_remembered();
                return true;
            }
        }
        crate::metrics::global().seal_signature_verified();
        if !seal.verify(key) {
            return false;
        }
        let mut g = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        if g.0.len() >= Self::GENERATION {
            g.1 = std::mem::take(&mut g.0);
        }
        g.0.insert(fact);
        true
    }

    /// How many signature checks this cache answered with a remembered signature.
    pub fn remembered(&self) -> u64 {
        self.remembered.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The outcome of a border check: the verdict, why, what was verified, and the ledger record.
#[derive(Clone, Debug)]
pub struct Verification<R> {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// The seal's claims once its signature verified (or the record's, for a number look-up).
    pub claims: Option<SealClaims>,
    /// The key that signed the seal.
    pub signer: Option<TrustedKey>,
    /// The index of the certificate's issuance entry, when the verdict rests on the ledger's
    /// record of it (online: a scanned seal compared with the recorded one, or a recorded
    /// number).
    pub entry_index: Option<u64>,
    /// The ledger record, when it was read (a look-up by number; for a scanned seal only when
    /// the state cannot judge it alone: see [`verify_qr`]).
    pub record: Option<R>,
    /// What is known of the certificate's life after issuance.
    pub life: LifeFacts,
}

impl<R> Verification<R> {
    /// A verdict with one reason and nothing verified.
    pub fn of(verdict: Verdict, reason: impl Into<String>) -> Verification<R> {
        Verification {
            verdict,
            reasons: vec![reason.into()],
            claims: None,
            signer: None,
            entry_index: None,
            record: None,
            life: LifeFacts::default(),
        }
    }
}

/// Checks scanned QR text on `today`: decoding, a signature by a trusted key that was valid on
/// the date of issue, the issuer's standing, agreement with the ledger record (when there is a
/// ledger), and the dates.
pub fn verify_qr<T: Trust>(
    trust: &T,
    qr: &str,
    today: Date,
) -> Result<Verification<T::Record>, T::Error> {
    let (bytes, opened) = match seal_from_qr_text(qr).and_then(|b| open(&b).map(|o| (b, o))) {
        Ok(both) => both,
        Err(e) => return Ok(Verification::of(Verdict::Malformed, e.0)),
    };
    let keys = trust.keys_with_id(&opened.key_id);
    if keys.is_empty() {
        // A copy older than the certificate cannot know a key registered since: that is no
        // proof of forgery (the date is unverified, so at most this turns forged into unknown).
        if let Some(as_of) = trust.as_of_ms() {
            if opened.claims.issued_on.start_ms() + crate::domain::date::MS_PER_DAY > as_of {
                return Ok(Verification::of(
                    Verdict::Unknown,
                    format!(
                        "key {} is not in this trust bundle of {}, which is older than the certificate's date of issue ({}): fetch a newer trust bundle, or check online",
                        opened.key_id,
                        crate::domain::date::format_unix_ms(as_of),
                        opened.claims.issued_on
                    ),
                ));
            }
        }
        return Ok(Verification::of(
            Verdict::Forged,
            format!("key {} is not a registered authority key", opened.key_id),
        ));
    }
    let Some(signer) = keys
        .into_iter()
        .find(|k| trust.signed_by(&opened, &k.key.public_key))
    else {
        return Ok(Verification::of(
            Verdict::Forged,
            "the signature does not verify with the registered key",
        ));
    };
    let claims = opened.claims;
    let forged = |reason: String, claims: SealClaims, signer: TrustedKey| Verification {
        verdict: Verdict::Forged,
        reasons: vec![reason],
        claims: Some(claims),
        signer: Some(signer),
        entry_index: None,
        record: None,
        life: LifeFacts::default(),
    };
    if signer.authority_id != claims.authority_id || signer.participant != claims.participant {
        return Ok(forged(
            "the seal names another authority than the key that signed it".into(),
            claims,
            signer,
        ));
    }
    let by_day = signer.key.revocation_on_day(claims.issued_on);
    if by_day == RevocationCheck::Revoked {
        return Ok(revoked(&signer.key, claims, signer.clone(), None));
    }
    if !signer.key.covers_day(claims.issued_on) {
        return Ok(forged(
            format!(
                "the key of {} was not valid on the date of issue {}",
                signer.authority_id, claims.issued_on
            ),
            claims,
            signer,
        ));
    }
    if let Some(reason) = standing_problem(trust, claims.participant) {
        return Ok(forged(reason, claims, signer));
    }
    let number = claims.number();
    let (entry_index, record, ledger_note) = match trust.issued(&number) {
        Lookup::Unavailable if by_day == RevocationCheck::SameDay => {
            let mut v = Verification::of(
                Verdict::Unknown,
                format!(
                    "the key of {} was recorded as compromised from {}, during the day of issue: only the ledger's entry time can tell whether this certificate came before; check online",
                    signer.authority_id,
                    format_unix_ms(signer.key.revoked.as_ref().map_or(0, |r| r.from_ms))
                ),
            );
            v.claims = Some(claims);
            v.signer = Some(signer);
            return Ok(v);
        }
        Lookup::Unavailable => (None, None, Some("offline: the ledger was not consulted")),
        Lookup::Missing => return Ok(not_in_ledger(&number, claims, signer)),
        Lookup::Found(issued) => {
            // The seal kept in the certificate's record states exactly the certificate's claims
            // under its key (checked when it was recorded and whenever the state takes it): a
            // seal with its bytes is the recorded one, and any other seal (another claim, key
            // or signature) is not. The state keeps its hash. The record itself is read (and
            // checked against its entry, its seal's signature included) only when the state
            // has no hash (built without the records), when the hashes differ (a forgery, or a
            // record changed on disk: reading it tells which), and for a key compromised during
            // the day of issue, where only the entry's time can tell (an entry is recorded on
            // its date of issue, so any other compromise was judged above).
            let scanned = crate::crypto::sha256(&bytes);
            let mut record = None;
            let mut same = issued.seal_hash == Some(scanned);
            if !same || by_day == RevocationCheck::SameDay {
                let Lookup::Found((recorded, r)) = trust.record(&number)? else {
                    return Ok(not_in_ledger(&number, claims, signer));
                };
                same = recorded.seal_hash == scanned;
                if same && signer.key.revocation_at(recorded.entry_ms) == RevocationCheck::Revoked {
                    let key = signer.key.clone();
                    let mut v = revoked(&key, claims, signer, Some(r));
                    v.entry_index = Some(issued.entry_index);
                    return Ok(v);
                }
                record = Some(r);
            }
            if !same {
                let mut v = Verification::of(
                    Verdict::Forged,
                    format!("the seal differs from the ledger's record of {number}"),
                );
                v.claims = Some(claims);
                v.signer = Some(signer);
                v.entry_index = Some(issued.entry_index);
                v.record = record;
                return Ok(v);
            }
            (Some(issued.entry_index), record, None)
        }
    };
    let mut v = judged(trust, &number, claims, record, today);
    v.entry_index = entry_index;
    if v.verdict == Verdict::Valid {
        v.reasons[0].push_str(&format!(
            "; signed by {} ({})",
            signer.authority_id, signer.authority_name
        ));
    }
    v.reasons.extend(ledger_note.map(str::to_owned));
    v.signer = Some(signer);
    Ok(v)
}

/// Checks a certificate number on `today` against the ledger alone (online only: offline the
/// answer is `unknown`).
pub fn verify_number<T: Trust>(
    trust: &T,
    number: &str,
    today: Date,
) -> Result<Verification<T::Record>, T::Error> {
    let unknown = || {
        Verification::of(
            Verdict::Unknown,
            format!("no certificate {number} in the ledger"),
        )
    };
    let Some(parsed) = CertificateNumber::parse(number) else {
        return Ok(unknown());
    };
    match trust.record(&parsed)? {
        Lookup::Unavailable => Ok(Verification::of(
            Verdict::Unknown,
            "a certificate number can only be checked against the ledger (online)",
        )),
        Lookup::Missing => Ok(unknown()),
        Lookup::Found((recorded, record)) => {
            let entry_index = recorded.entry_index;
            let mut v = judged_record(trust, &parsed, recorded, record, today);
            v.entry_index = Some(entry_index);
            Ok(v)
        }
    }
}

/// The verdict on recorded certificate `number` without a seal: its issuer, its key's
/// compromise (judged by its entry's time), then its life and dates.
fn judged_record<T: Trust>(
    trust: &T,
    number: &CertificateNumber,
    recorded: Recorded,
    record: T::Record,
    today: Date,
) -> Verification<T::Record> {
    let claims = recorded.claims;
    if let Some(reason) = standing_problem(trust, claims.participant) {
        let mut v = Verification::of(Verdict::Forged, reason);
        v.claims = Some(claims);
        v.record = Some(record);
        return v;
    }
    let signer = trust
        .keys_with_id(&recorded.key_id)
        .into_iter()
        .find(|k| k.authority_id == claims.authority_id);
    if let Some(signer) = signer {
        if signer.key.revocation_at(recorded.entry_ms) == RevocationCheck::Revoked {
            let key = signer.key.clone();
            return revoked(&key, claims, signer, Some(record));
        }
    }
    judged(trust, number, claims, Some(record), today)
}

/// The verdict on a seal signed by a trusted key for a number the ledger does not hold.
fn not_in_ledger<R>(
    number: &CertificateNumber,
    claims: SealClaims,
    signer: TrustedKey,
) -> Verification<R> {
    Verification {
        verdict: Verdict::NotInLedger,
        reasons: vec![format!(
            "{number} is signed by {} but is not in the ledger: report this seal",
            signer.authority_id
        )],
        claims: Some(claims),
        signer: Some(signer),
        entry_index: None,
        record: None,
        life: LifeFacts::default(),
    }
}

/// The verdict on a genuine, recorded certificate: what its life says first (void beats
/// imported), then its dates. Against a trust bundle older than the certificate's last possible
/// change, the verdict says what the bundle cannot know.
fn judged<T: Trust>(
    trust: &T,
    number: &CertificateNumber,
    claims: SealClaims,
    record: Option<T::Record>,
    today: Date,
) -> Verification<T::Record> {
    let life = trust.life(number);
    // A date of issue in the future is a forgery whatever the ledger recorded since.
    if let Some(DateProblem::IssuedInFuture(_)) = claims.date_problem(today) {
        return dated(claims, record, today);
    }
    // Then the issuer's standing: what a participant not in good standing issued is refused
    // whatever happened to it since.
    let mut record = record;
    if let Some(v) = suspended(trust, &claims, &mut record, today) {
        return v;
    }
    let mut v = if let Some(void) = &life.void {
        let mut reason = format!("void since {} by {}", void.on, void.authority_id);
        if let Some(why) = &void.reason {
            reason.push_str(&format!(" ({why})"));
        }
        match &void.replaced_by {
            Some(new) => reason.push_str(&format!(
                ": replaced by certificate {new}; do not accept this one"
            )),
            None => reason.push_str(": do not accept"),
        }
        reason.push_str(&format!(" (ledger entry {})", void.entry_index));
        Verification {
            verdict: Verdict::Void,
            reasons: vec![reason],
            claims: Some(claims),
            signer: None,
            entry_index: None,
            record,
            life: LifeFacts::default(),
        }
    } else if let Some(import) = &life.imported {
        Verification {
            verdict: Verdict::Imported,
            reasons: vec![format!(
                "already imported on {} by {}, do not accept a new shipment on it (ledger entry {})",
                import.received_on, import.authority_id, import.entry_index
            )],
            claims: Some(claims),
            signer: None,
            entry_index: None,
            record,
            life: LifeFacts::default(),
        }
    } else {
        dated(claims, record, today)
    };
    if let (Some(as_of), None) = (trust.as_of_ms(), &life.void) {
        // Until it is void, a certificate can still be voided or confirmed, and until it expires
        // that changes its verdict: a bundle made before the end of its validity cannot know a
        // change recorded since.
        let last_change = v.claims.as_ref().map_or(0, |c| {
            c.expires_on.start_ms() + crate::domain::date::MS_PER_DAY
        });
        if as_of < last_change && v.verdict != Verdict::Imported {
            v.reasons.push(format!(
                "this trust bundle is of {}, older than this certificate's last possible change (a void or import confirmation recorded before it expires on {} changes its verdict): one recorded since is not known; check online when you can",
                format_unix_ms(as_of),
                v.claims.as_ref().map(|c| c.expires_on.to_string()).unwrap_or_default()
            ));
        }
    }
    v.life = life;
    v
}

/// The `key_revoked` verdict for a certificate signed with `key`.
fn revoked<R>(
    key: &KeyWindow,
    claims: SealClaims,
    signer: TrustedKey,
    record: Option<R>,
) -> Verification<R> {
    let (from, reason) = key
        .revoked
        .as_ref()
        .map_or((0, ""), |r| (r.from_ms, r.reason.as_str()));
    Verification {
        verdict: Verdict::KeyRevoked,
        reasons: vec![format!(
            "signed with key {} of {}, recorded as compromised from {} ({reason}): do not accept; the issuing authority can issue a replacement",
            key.key_id,
            signer.authority_id,
            format_unix_ms(from)
        )],
        claims: Some(claims),
        signer: Some(signer),
        entry_index: None,
        record,
        life: LifeFacts::default(),
    }
}

fn standing_problem<T: Trust>(trust: &T, code: CountryCode) -> Option<String> {
    match trust.standing(code) {
        Some(_) => None,
        None => Some(format!("{code} is not a Kimberley Process participant")),
    }
}

/// Why a genuine certificate of `claims` must be refused for its issuer's standing on `today`:
/// the issuer was not in good standing on the date of issue, or a decision in force orders
/// participants to refuse its certificates from a date that has passed.
fn issuer_suspended<T: Trust>(trust: &T, claims: &SealClaims, today: Date) -> Option<String> {
    let code = claims.participant;
    let history = trust.standing(code)?;
    if let Some(bar) = history.bar_on(claims.issued_on) {
        return Some(format!(
            "issued while its issuer was not in good standing: {}; do not accept",
            bar.describe(code, claims.issued_on)
        ));
    }
    let order = history.refusal_on(today)?;
    Some(format!(
        "participants are to refuse the certificates of {code} from {} by {} (ledger entry {}); do not accept",
        order.change.refuse_from.expect("an order has a date"),
        order.change.decision.describe(),
        order.index
    ))
}

/// The verdict `issuer_suspended` on a genuine certificate, if its issuer's standing says so.
fn suspended<T: Trust, R>(
    trust: &T,
    claims: &SealClaims,
    record: &mut Option<R>,
    today: Date,
) -> Option<Verification<R>> {
    let reason = issuer_suspended(trust, claims, today)?;
    Some(Verification {
        verdict: Verdict::IssuerSuspended,
        reasons: vec![reason],
        claims: Some(claims.clone()),
        signer: None,
        entry_index: None,
        record: record.take(),
        life: LifeFacts::default(),
    })
}

fn dated<R>(claims: SealClaims, record: Option<R>, today: Date) -> Verification<R> {
    let (verdict, reason) = match claims.date_problem(today) {
        Some(p @ DateProblem::Expired(_)) => (Verdict::Expired, p.to_string()),
        Some(p @ DateProblem::IssuedInFuture(_)) => (Verdict::Forged, p.to_string()),
        None => (
            Verdict::Valid,
            format!("valid until {} inclusive", claims.expires_on),
        ),
    };
    Verification {
        verdict,
        reasons: vec![reason],
        claims: Some(claims),
        signer: None,
        entry_index: None,
        record,
        life: LifeFacts::default(),
    }
}

/// A look-up of a recorded certificate: its claims and the caller's record.
pub type RecordLookup<'a, R, E> =
    &'a dyn Fn(&CertificateNumber) -> Result<Option<(Recorded, R)>, E>;

/// The online verifier's trust: the ledger state, a look-up of recorded certificates, and the
/// signatures it already verified.
pub struct LedgerTrust<'a, R, E> {
    pub state: &'a State,
    pub lookup: RecordLookup<'a, R, E>,
    pub seals: &'a SealCache,
}

impl<R, E> Trust for LedgerTrust<'_, R, E> {
    type Record = R;
    type Error = E;

    fn keys_with_id(&self, id: &KeyId) -> Vec<TrustedKey> {
        self.state
            .keys_with_id(id)
            .into_iter()
            .map(|(a, k)| TrustedKey {
                authority_id: a.authority.id.clone(),
                participant: a.authority.participant,
                authority_name: a.authority.name.clone(),
                key: k.clone(),
            })
            .collect()
    }

    fn standing(&self, code: CountryCode) -> Option<&StandingHistory> {
        self.state.standing(code)
    }

    fn record(&self, number: &CertificateNumber) -> Result<Lookup<(Recorded, R)>, E> {
        // Serials are contiguous: a number past the participant's last serial was never issued,
        // and no index is consulted for it.
        if !self
            .state
            .has_serial(number.participant(), number.year(), number.serial())
        {
            return Ok(Lookup::Missing);
        }
        Ok(match (self.lookup)(number)? {
            Some(found) => Lookup::Found(found),
            None => Lookup::Missing,
        })
    }

    fn issued(&self, number: &CertificateNumber) -> Lookup<Issued> {
        match self.state.life(number) {
            Some(life) => Lookup::Found(Issued {
                seal_hash: life.seal_hash,
                entry_index: life.issued_index,
            }),
            None => Lookup::Missing,
        }
    }

    fn life(&self, number: &CertificateNumber) -> LifeFacts {
        LifeFacts::of_state(self.state, number)
    }

    fn signed_by(&self, seal: &OpenedSeal, key: &PublicKey) -> bool {
        self.seals.signed_by(seal, key)
    }
}

impl Trust for TrustBundle {
    type Record = ();
    type Error = std::convert::Infallible;

    fn keys_with_id(&self, id: &KeyId) -> Vec<TrustedKey> {
        self.authorities
            .iter()
            .filter(|a| &a.key.key_id == id)
            .map(|a| TrustedKey {
                authority_id: a.authority_id.clone(),
                participant: a.participant,
                authority_name: a.name.clone(),
                key: a.key.clone(),
            })
            .collect()
    }

    fn standing(&self, code: CountryCode) -> Option<&StandingHistory> {
        self.participants
            .iter()
            .find(|p| p.code == code)
            .map(|p| &p.standing)
    }

    fn record(&self, _number: &CertificateNumber) -> Result<Lookup<(Recorded, ())>, Self::Error> {
        Ok(Lookup::Unavailable)
    }

    fn issued(&self, _number: &CertificateNumber) -> Lookup<Issued> {
        Lookup::Unavailable
    }

    fn as_of_ms(&self) -> Option<u64> {
        Some(self.issued_at_ms)
    }

    fn life(&self, number: &CertificateNumber) -> LifeFacts {
        let Ok(at) = self.certificates.binary_search_by(|c| c.number.cmp(number)) else {
            return LifeFacts::default();
        };
        let c = &self.certificates[at];
        match &c.state {
            BundleState::Void { replaced_by } => LifeFacts {
                imported: None,
                void: Some(VoidFact {
                    on: c.on,
                    authority_id: c.authority_id.clone(),
                    reason: None,
                    replaced_by: replaced_by.clone(),
                    entry_index: c.entry_index,
                }),
            },
            BundleState::Imported => LifeFacts {
                imported: Some(ImportFact {
                    received_on: c.on,
                    authority_id: c.authority_id.clone(),
                    entry_index: c.entry_index,
                }),
                void: None,
            },
        }
    }
}
