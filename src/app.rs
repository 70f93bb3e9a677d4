//! The kpcert service: what authorities, officers and auditors can do, independent of HTTP or
//! the command line. Handlers and CLI commands are thin wrappers around [`App`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use crate::checkpoint::{valid_key_name, NoteSigner, NoteVerifier};
use crate::crypto::{sha256, Hash, SigningKey};
use crate::domain::authority::{DEFAULT_VALIDITY_DAYS, MAX_VALIDITY_DAYS_LIMIT};
use crate::domain::participant::{parse_registry, REGISTRY_CSV};
use crate::domain::{
    Authority, Certificate, CertificateContent, CertificateNumber, CountryCode, Date, DraftInput,
    IssuePolicy, Issuer, Participant, Problem,
};
use crate::encoding::{decode_certificate, encode_certificate, Entry, Event};
use crate::keys::{KeyDir, LEDGER_KEY, ROOT_KEY};
use crate::ledger::{Appended, Ledger, LedgerError, NewEntry, SignedCheckpoint};

/// Most certificate look-ups kept in memory.
const RECORD_CACHE_ENTRIES: usize = 10_000;

/// Default checkpoint origin (and ledger key name).
pub const DEFAULT_ORIGIN: &str = "kpcert.local/ledger";

/// Where the service keeps its state.
#[derive(Clone, Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    pub keys_dir: PathBuf,
    /// The checkpoint origin line, also the ledger key's note name. Fixed on first run (kept
    /// in keys/ledger.origin); `None` keeps the recorded one or uses [`DEFAULT_ORIGIN`].
    pub origin: Option<String>,
}

/// Why the service could not start or act.
#[derive(Debug)]
pub enum AppError {
    Config(String),
    Keys(std::io::Error),
    Ledger(LedgerError),
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Config(e) => f.write_str(e),
            AppError::Keys(e) => write!(f, "{e}"),
            AppError::Ledger(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AppError {}

impl From<LedgerError> for AppError {
    fn from(e: LedgerError) -> AppError {
        AppError::Ledger(e)
    }
}

/// Why an issuance was refused.
#[derive(Debug)]
pub enum IssueError {
    /// The request breaks one or more rules; nothing was written.
    Invalid(Vec<Problem>),
    /// The authority asked to issue for another participant.
    Forbidden(String),
}

/// An authority that can act: its ledger record and its signing key.
pub struct ActiveAuthority {
    pub authority: Authority,
    key: SigningKey,
}

/// What [`App::add_authority`] hands out once.
pub struct NewAuthority {
    pub authority: Authority,
    pub token: String,
}

/// An issued certificate with its ledger position and proof.
#[derive(Clone, Debug)]
pub struct IssuedCertificate {
    pub certificate: Certificate,
    pub canonical: Vec<u8>,
    pub hash: Hash,
    pub signature: [u8; 64],
    pub entry_index: u64,
    pub entry_time_ms: u64,
    /// The ledger entry's canonical bytes (the Merkle leaf data).
    pub entry: Vec<u8>,
    pub checkpoint: Arc<SignedCheckpoint>,
    /// Inclusion proof of the entry against `checkpoint`.
    pub proof: Vec<Hash>,
}

/// A certificate with its canonical bytes and signature, handed back from the writer thread.
type Signed = (Certificate, Vec<u8>, [u8; 64]);

/// The running service.
pub struct App {
    ledger: Ledger,
    keys: KeyDir,
    participants: HashMap<CountryCode, Participant>,
    /// Authorities whose signing key is here, by id.
    authorities: RwLock<HashMap<String, Arc<ActiveAuthority>>>,
    /// Every registered authority with the time of its registration entry, from the ledger.
    registered: RwLock<Vec<(Authority, u64)>>,
    /// The Secretariat root key that signs trust bundles.
    root_key: SigningKey,
    /// Recent look-ups by number, each with its proof against the tree size it was made for.
    record_cache: Mutex<HashMap<String, IssuedCertificate>>,
    /// SHA-256 of each valid bearer token -> authority id; mirrors the stored hashes (this
    /// process is the only one that can change them while it holds the data folder).
    tokens: RwLock<HashMap<Hash, String>>,
    verifier: NoteVerifier,
    /// Serialises authority registration (id assignment and key files).
    registering: Mutex<()>,
}

/// The participants as the ledger records them. Rows of the registry shipped in this binary that
/// the ledger does not know yet (a newer registry) are recorded first, so that the ledger alone
/// says who was a participant when; a row that differs from the recorded one is reported, not
/// applied (status changes are ledger events of their own).
fn sync_participants(
    ledger: &Ledger,
    registry: &[Participant],
) -> Result<HashMap<CountryCode, Participant>, AppError> {
    let mut known = HashMap::new();
    for index in ledger.participant_indexes()? {
        let bytes = ledger
            .entry(index)?
            .ok_or_else(|| LedgerError::Corrupt(format!("missing entry {index}")))?;
        match Entry::decode(&bytes).map(|e| e.event) {
            Ok(Event::ParticipantRegistered(p)) => {
                known.insert(p.code, p);
            }
            _ => {
                return Err(AppError::Ledger(LedgerError::Corrupt(format!(
                    "entry {index} is not a participant registration"
                ))))
            }
        }
    }
    for row in registry {
        match known.get(&row.code) {
            Some(recorded) if recorded != row => {
                tracing::warn!(participant = %row.code, "the shipped registry differs from the ledger's record; the ledger's is used")
            }
            Some(_) => {}
            None => {
                let event = Event::ParticipantRegistered(row.clone());
                ledger.append_blocking(move |_| {
                    Ok(NewEntry {
                        actor: "secretariat".into(),
                        key_id: None,
                        event,
                    })
                })?;
                tracing::info!(participant = %row.code, "recorded a participant new to this ledger");
                known.insert(row.code, row.clone());
            }
        }
    }
    Ok(known)
}

fn token_hash(token: &str) -> Hash {
    sha256(token.as_bytes())
}

fn authority_key_name(authority: &Authority) -> String {
    format!("authority-{}", authority.key_id())
}

impl App {
    /// Opens the data and keys folders, generating the ledger key and recording the participant
    /// registry on first run.
    pub fn open(config: &Config) -> Result<App, AppError> {
        let keys = KeyDir::open(&config.keys_dir).map_err(AppError::Keys)?;
        let holds_ledger = std::fs::metadata(config.data_dir.join("entries.dat"))
            .map(|m| m.len() > 0)
            .unwrap_or(false);
        if holds_ledger && !keys.has_key(LEDGER_KEY) {
            return Err(AppError::Config(format!(
                "the data folder {} holds a ledger but the keys folder {} has no ledger key: \
                 point --keys-dir at the keys folder that belongs to it (to start over, remove both folders)",
                config.data_dir.display(),
                config.keys_dir.display()
            )));
        }
        let origin = match (
            keys.stored_origin().map_err(AppError::Keys)?,
            &config.origin,
        ) {
            (Some(stored), Some(asked)) if &stored != asked => {
                return Err(AppError::Config(format!(
                    "this ledger's origin is {stored:?}, not {asked:?} (it is fixed on first run)"
                )))
            }
            (Some(stored), _) => stored,
            (None, asked) => asked.clone().unwrap_or_else(|| DEFAULT_ORIGIN.to_owned()),
        };
        if !valid_key_name(&origin) {
            return Err(AppError::Config(format!(
                "origin {origin:?} must be non-empty with no spaces and no '+'"
            )));
        }
        keys.store_origin(&origin).map_err(AppError::Keys)?;
        let (ledger_key, created) = keys.load_or_generate(LEDGER_KEY).map_err(AppError::Keys)?;
        if created {
            tracing::info!(path = %keys.key_path(LEDGER_KEY).display(), "generated the ledger key");
        }
        let (root_key, created) = keys.load_or_generate(ROOT_KEY).map_err(AppError::Keys)?;
        if created {
            tracing::info!(path = %keys.key_path(ROOT_KEY).display(), "generated the Secretariat root key");
        }
        let signer = NoteSigner::new(&origin, ledger_key);
        let verifier = signer.verifier();
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            AppError::Config(format!("cannot create {}: {e}", config.data_dir.display()))
        })?;
        let registry = parse_registry(REGISTRY_CSV).map_err(AppError::Config)?;
        let genesis = registry
            .iter()
            .map(|p| NewEntry {
                actor: "secretariat".into(),
                key_id: None,
                event: Event::ParticipantRegistered(p.clone()),
            })
            .collect();
        let ledger = Ledger::open(&config.data_dir, signer, genesis)?;
        let participants = sync_participants(&ledger, &registry)?;
        let app = App {
            participants,
            ledger,
            keys,
            authorities: RwLock::new(HashMap::new()),
            registered: RwLock::new(Vec::new()),
            root_key,
            record_cache: Mutex::new(HashMap::new()),
            tokens: RwLock::new(HashMap::new()),
            verifier,
            registering: Mutex::new(()),
        };
        app.load_authorities()?;
        *app.tokens.write().expect("tokens lock") = app.ledger.tokens()?.into_iter().collect();
        Ok(app)
    }

    /// Loads every registered authority and the signing keys found in the keys folder. A key
    /// file that others can read or that holds another key stops the start (a security
    /// problem to fix, not to skip); a missing key file leaves that authority unable to issue.
    fn load_authorities(&self) -> Result<(), AppError> {
        let mut map = HashMap::new();
        let mut registered = Vec::new();
        for index in self.ledger.authority_indexes()? {
            let bytes = self.ledger.entry(index)?.ok_or_else(|| {
                AppError::Ledger(LedgerError::Corrupt(format!("missing entry {index}")))
            })?;
            let entry = Entry::decode(&bytes)
                .map_err(|e| AppError::Ledger(LedgerError::Corrupt(e.to_string())))?;
            let Event::AuthorityRegistered(authority) = entry.event else {
                return Err(AppError::Ledger(LedgerError::Corrupt(format!(
                    "entry {index} is not an authority registration"
                ))));
            };
            registered.push((authority.clone(), entry.time_ms));
            let name = authority_key_name(&authority);
            match self.keys.load(&name) {
                Ok(key) if key.public_key() == authority.public_key => {
                    map.insert(
                        authority.id.clone(),
                        Arc::new(ActiveAuthority { authority, key }),
                    );
                }
                Ok(_) => {
                    return Err(AppError::Config(format!(
                        "{} does not hold the key registered for authority {}",
                        self.keys.key_path(&name).display(),
                        authority.id
                    )))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    tracing::warn!(authority = %authority.id, path = %self.keys.key_path(&name).display(), "no signing key in the keys folder; the authority cannot issue")
                }
                Err(e) => {
                    return Err(AppError::Config(format!(
                        "the signing key of authority {}: {e}",
                        authority.id
                    )))
                }
            }
        }
        *self.authorities.write().expect("authorities lock") = map;
        *self.registered.write().expect("registered lock") = registered;
        Ok(())
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The ledger's checkpoint verifier key (`name+hex8+base64`).
    pub fn ledger_verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// The KP participant with `code`, if any.
    pub fn participant(&self, code: CountryCode) -> Option<&Participant> {
        self.participants.get(&code)
    }

    /// Every registered authority, sorted by id.
    pub fn authorities(&self) -> Vec<Authority> {
        let mut list: Vec<Authority> = self
            .registered
            .read()
            .expect("registered lock")
            .iter()
            .map(|(a, _)| a.clone())
            .collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        list
    }

    /// The active authority `id` (what `authenticate` returns for its token).
    pub fn active_authority(&self, id: &str) -> Option<Arc<ActiveAuthority>> {
        self.authorities
            .read()
            .expect("authorities lock")
            .get(id)
            .cloned()
    }

    /// Whether authority `id` has its signing key here and can issue.
    pub fn can_issue(&self, id: &str) -> bool {
        self.authorities
            .read()
            .expect("authorities lock")
            .contains_key(id)
    }

    /// Registers an issuing authority for `participant`: generates its key into the keys folder,
    /// appends its registration to the ledger and returns a fresh bearer token.
    pub fn add_authority(
        &self,
        participant: &str,
        name: &str,
        max_validity_days: u32,
    ) -> Result<NewAuthority, AppError> {
        let code = CountryCode::participant(participant)
            .filter(|c| self.participants.contains_key(c))
            .ok_or_else(|| {
                AppError::Config(format!(
                    "{participant:?} is not a Kimberley Process participant code"
                ))
            })?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(AppError::Config(
                "the authority name must be 1 to 200 characters without control characters".into(),
            ));
        }
        if !(1..=MAX_VALIDITY_DAYS_LIMIT).contains(&max_validity_days) {
            return Err(AppError::Config(format!(
                "the maximum validity must be between 1 and {MAX_VALIDITY_DAYS_LIMIT} days"
            )));
        }
        let _guard = self.registering.lock().expect("registration lock");
        let key = SigningKey::generate();
        let template = Authority {
            id: String::new(),
            participant: code,
            name: name.to_owned(),
            public_key: key.public_key(),
            default_validity_days: DEFAULT_VALIDITY_DAYS.min(max_validity_days),
            max_validity_days,
        };
        // The key is on disk before the ledger names it: a crash in between leaves an unused key
        // file, never a registered authority without its key.
        self.keys
            .store(&authority_key_name(&template), &key)
            .map_err(AppError::Keys)?;
        let appended = self.ledger.append_blocking(move |ctx| {
            let n = ctx.next_counter(&format!("authority/{code}"))?;
            let authority = Authority {
                id: Authority::id_for(code, n),
                ..template
            };
            ctx.index_authority(&authority.id);
            Ok(NewEntry {
                actor: "secretariat".into(),
                key_id: None,
                event: Event::AuthorityRegistered(authority),
            })
        })?;
        let entry = Entry::decode(&appended.entry_bytes)
            .map_err(|e| AppError::Ledger(LedgerError::Corrupt(e.to_string())))?;
        let Event::AuthorityRegistered(authority) = entry.event else {
            unreachable!("we appended an authority registration");
        };
        self.registered
            .write()
            .expect("registered lock")
            .push((authority.clone(), appended.time_ms));
        self.authorities.write().expect("authorities lock").insert(
            authority.id.clone(),
            Arc::new(ActiveAuthority {
                authority: authority.clone(),
                key,
            }),
        );
        let token = self.new_token(&authority.id)?;
        Ok(NewAuthority { authority, token })
    }

    /// Mints a new bearer token for `authority_id`; only its hash is stored.
    pub fn new_token(&self, authority_id: &str) -> Result<String, AppError> {
        let token = format!(
            "kpat_{}",
            crate::b64::encode_url(&crate::crypto::random_bytes::<32>())
        );
        let hash = token_hash(&token);
        self.ledger.add_token(&hash, authority_id)?;
        self.tokens
            .write()
            .expect("tokens lock")
            .insert(hash, authority_id.to_owned());
        Ok(token)
    }

    /// Revokes every token of `authority_id`.
    pub fn revoke_tokens(&self, authority_id: &str) -> Result<usize, AppError> {
        let removed = self.ledger.revoke_tokens(authority_id)?;
        self.tokens
            .write()
            .expect("tokens lock")
            .retain(|_, id| id != authority_id);
        Ok(removed)
    }

    /// The authority a bearer token belongs to.
    pub fn authenticate(&self, token: &str) -> Option<Arc<ActiveAuthority>> {
        let id = self
            .tokens
            .read()
            .expect("tokens lock")
            .get(&token_hash(token))?
            .clone();
        self.authorities
            .read()
            .expect("authorities lock")
            .get(&id)
            .cloned()
    }

    /// Checks an issuance request for `authority` on `today`; writes nothing.
    pub fn validate(
        &self,
        authority: &ActiveAuthority,
        input: &DraftInput,
        claimed_issuer: Option<&str>,
        today: Date,
    ) -> Result<CertificateContent, IssueError> {
        let a = &authority.authority;
        if let Some(claimed) = claimed_issuer {
            if claimed != a.participant.as_str() {
                return Err(IssueError::Forbidden(format!(
                    "authority {} issues only for participant {}, not {claimed}",
                    a.id, a.participant
                )));
            }
        }
        let is_participant = |c: CountryCode| self.participants.contains_key(&c);
        let policy = IssuePolicy {
            issuer: a.participant,
            issued_on: today,
            default_validity_days: a.default_validity_days,
            max_validity_days: a.max_validity_days,
            is_participant: &is_participant,
        };
        CertificateContent::validate(input, &policy).map_err(IssueError::Invalid)
    }

    /// The certificate an earlier request with idempotency `key` of `authority` created, and
    /// whether that request had the same body hash.
    pub fn idempotent_replay(
        &self,
        authority: &ActiveAuthority,
        key: &str,
        request_hash: &Hash,
    ) -> Result<Option<(bool, IssuedCertificate)>, LedgerError> {
        let Some((hash, index)) = self.ledger.idempotency(&authority.authority.id, key)? else {
            return Ok(None);
        };
        let issued = self.issued_at(index)?;
        Ok(Some((&hash == request_hash, issued)))
    }

    /// Numbers, signs and durably records validated content; answers once it is on disk. With
    /// an idempotency key (and the hash of the request body), a second request with the same
    /// key appends nothing: it fails with [`LedgerError::IdempotencyConflict`].
    pub async fn issue(
        &self,
        authority: Arc<ActiveAuthority>,
        content: CertificateContent,
        idempotency: Option<(String, Hash)>,
    ) -> Result<IssuedCertificate, LedgerError> {
        let slot: Arc<Mutex<Option<Signed>>> = Arc::default();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job_slot = slot.clone();
        self.ledger.submit(
            move |ctx| {
                let a = &authority.authority;
                if let Some((key, request_hash)) = &idempotency {
                    ctx.claim_idempotency(&a.id, key, request_hash)?;
                }
                let year = content.issued_on.year();
                let serial = ctx.next_counter(&format!("certificate/{}/{year}", a.participant))?;
                let number = CertificateNumber::new(a.participant, year, serial);
                if ctx.has_certificate(number.as_str())? {
                    return Err(LedgerError::Corrupt(format!(
                        "{number} is already recorded"
                    )));
                }
                ctx.index_certificate(number.as_str());
                let certificate = Certificate {
                    number,
                    issuer: Issuer {
                        participant: a.participant,
                        authority_id: a.id.clone(),
                        authority_name: a.name.clone(),
                        key_id: a.key_id(),
                    },
                    content,
                };
                let bytes = encode_certificate(&certificate);
                let signature = authority.key.sign(&bytes);
                *job_slot.lock().expect("slot") = Some((certificate, bytes.clone(), signature));
                Ok(NewEntry {
                    actor: a.id.clone(),
                    key_id: Some(a.key_id()),
                    event: Event::CertificateIssued {
                        certificate: bytes,
                        signature,
                    },
                })
            },
            move |result| {
                let _ = tx.send(result);
            },
        );
        let appended: Appended = rx.await.map_err(|_| LedgerError::Closed)??;
        let (certificate, canonical, signature) = slot
            .lock()
            .expect("slot")
            .take()
            .expect("the job filled the slot");
        let proof = self
            .ledger
            .inclusion_proof(appended.index, appended.checkpoint.checkpoint.size)?;
        Ok(IssuedCertificate {
            hash: sha256(&canonical),
            certificate,
            canonical,
            signature,
            entry_index: appended.index,
            entry_time_ms: appended.time_ms,
            entry: appended.entry_bytes,
            checkpoint: appended.checkpoint,
            proof,
        })
    }

    /// The certificate `number` as recorded, with a proof against the latest checkpoint.
    /// Look-ups are cached per number while the ledger size stays the same: an entry never
    /// changes and its proof against a given tree size never does either, and verification
    /// traffic far exceeds issuance.
    pub fn certificate(&self, number: &str) -> Result<Option<IssuedCertificate>, LedgerError> {
        let size = self.ledger.size();
        if let Some(hit) = self.record_cache.lock().expect("record cache").get(number) {
            if hit.checkpoint.checkpoint.size == size {
                return Ok(Some(hit.clone()));
            }
        }
        let Some(index) = self.ledger.certificate_index(number)? else {
            return Ok(None);
        };
        let issued = self.issued_at(index)?;
        let mut cache = self.record_cache.lock().expect("record cache");
        if cache.len() >= RECORD_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(number.to_owned(), issued.clone());
        Ok(Some(issued))
    }

    /// The certificate recorded by entry `index`, with a proof against the latest checkpoint.
    fn issued_at(&self, index: u64) -> Result<IssuedCertificate, LedgerError> {
        let checkpoint = self.ledger.head();
        let bytes = self
            .ledger
            .entry(index)?
            .ok_or_else(|| LedgerError::Corrupt(format!("missing entry {index}")))?;
        let entry = Entry::decode(&bytes).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        let Event::CertificateIssued {
            certificate: canonical,
            signature,
        } = entry.event
        else {
            return Err(LedgerError::Corrupt(format!(
                "entry {index} is not an issuance"
            )));
        };
        let certificate =
            decode_certificate(&canonical).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        let proof = self
            .ledger
            .inclusion_proof(index, checkpoint.checkpoint.size)?;
        Ok(IssuedCertificate {
            hash: sha256(&canonical),
            certificate,
            canonical,
            signature,
            entry_index: index,
            entry_time_ms: entry.time_ms,
            entry: bytes,
            checkpoint,
            proof,
        })
    }

    /// The seal of an issued certificate, signed by its issuing authority's key (ed25519 is
    /// deterministic, so this is the same seal every time). `None` if that key is not here.
    pub fn seal(&self, issued: &IssuedCertificate) -> Option<Vec<u8>> {
        let authority = self
            .authorities
            .read()
            .expect("authorities lock")
            .get(&issued.certificate.issuer.authority_id)
            .cloned()?;
        let claims = crate::seal::SealClaims::of(&issued.certificate, &issued.hash);
        Some(crate::seal::seal(
            &claims,
            &authority.authority.key_id(),
            |tbs| authority.key.sign(tbs),
        ))
    }

    /// Writes the portable export of the ledger as of its latest checkpoint (api/export.md).
    pub fn export(&self, out: impl std::io::Write) -> Result<(), String> {
        let head = self.ledger.head();
        let size = head.checkpoint.size;
        crate::audit::write_export(
            out,
            &head.note,
            size,
            self.ledger
                .entries(0, size)
                .map(|r| r.map(|(_, bytes)| bytes)),
        )
    }

    /// The Secretariat root key's public half (pinned by offline verifiers).
    pub fn root_public_key(&self) -> crate::crypto::PublicKey {
        self.root_key.public_key()
    }

    /// The signed trust bundle for offline verifiers, valid for `valid_for_ms` from now.
    pub fn trust_bundle(&self, valid_for_ms: u64) -> serde_json::Value {
        use crate::trust::{BundleAuthority, BundleParticipant, TrustBundle};
        let now = crate::ledger::now_ms();
        let mut participants: Vec<BundleParticipant> = self
            .participants
            .values()
            .map(|p| BundleParticipant {
                code: p.code.to_string(),
                name: p.name.clone(),
                kind: p.kind.as_str().to_owned(),
                status: "active".into(),
            })
            .collect();
        participants.sort_by(|a, b| a.code.cmp(&b.code));
        let mut authorities: Vec<BundleAuthority> = self
            .registered
            .read()
            .expect("registered lock")
            .iter()
            .map(|(a, since)| BundleAuthority {
                authority_id: a.id.clone(),
                participant: a.participant.to_string(),
                name: a.name.clone(),
                public_key: a.public_key,
                valid_from_ms: *since,
                valid_until_ms: None,
            })
            .collect();
        authorities.sort_by(|a, b| a.authority_id.cmp(&b.authority_id));
        TrustBundle {
            issued_at_ms: now,
            next_update_ms: now + valid_for_ms,
            ledger_origin: self.verifier.name().to_owned(),
            ledger_verifier_key: self.verifier.to_string(),
            participants,
            authorities,
        }
        .to_signed_json(&self.root_key)
    }

    /// Stops the ledger writer after queued work and flushes.
    pub fn close(&self) {
        self.ledger.close();
    }
}

/// The verdict of a border check. The strings are part of the API (`verdict`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A seal signed by a trusted key, matching the ledger record, not expired.
    Valid,
    /// Not a kpcert seal: prefix, encoding or CBOR wrong.
    Malformed,
    /// The signature fails, the key is unknown, or the seal differs from the ledger's record.
    Forged,
    /// A valid signature by a trusted key, but no such certificate in the ledger (key misuse).
    NotInLedger,
    /// Past its date of expiry.
    Expired,
    /// No certificate with that number.
    Unknown,
}

impl Verdict {
    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Malformed => "malformed",
            Verdict::Forged => "forged",
            Verdict::NotInLedger => "not_in_ledger",
            Verdict::Expired => "expired",
            Verdict::Unknown => "unknown",
        }
    }
}

/// The outcome of a border check: the verdict, why, what was verified, and the ledger record.
#[derive(Clone, Debug)]
pub struct Verification {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// The seal's claims once its signature verified (or the record's, for a number look-up).
    pub claims: Option<crate::seal::SealClaims>,
    /// The ledger record, when there is one.
    pub record: Option<IssuedCertificate>,
}

impl Verification {
    fn of(verdict: Verdict, reason: impl Into<String>) -> Verification {
        Verification {
            verdict,
            reasons: vec![reason.into()],
            claims: None,
            record: None,
        }
    }
}

impl App {
    /// Checks scanned QR text on `today`: decoding, signature by a key the ledger registered,
    /// agreement with the ledger record, dates.
    pub fn verify_qr(&self, qr: &str, today: Date) -> Result<Verification, LedgerError> {
        use crate::seal::{open, seal_from_qr_text, SealClaims};
        let opened = match seal_from_qr_text(qr).and_then(|bytes| open(&bytes)) {
            Ok(opened) => opened,
            Err(e) => return Ok(Verification::of(Verdict::Malformed, e.0)),
        };
        let candidates: Vec<Authority> = self
            .registered
            .read()
            .expect("registered lock")
            .iter()
            .filter(|(a, _)| a.key_id() == opened.key_id)
            .map(|(a, _)| a.clone())
            .collect();
        if candidates.is_empty() {
            return Ok(Verification::of(
                Verdict::Forged,
                format!("key {} is not a registered authority key", opened.key_id),
            ));
        }
        let Some(signer) = candidates.iter().find(|a| opened.verify(&a.public_key)) else {
            return Ok(Verification::of(
                Verdict::Forged,
                "the signature does not verify with the registered key",
            ));
        };
        let claims = opened.claims;
        if signer.id != claims.authority_id || signer.participant != claims.participant {
            return Ok(Verification::of(
                Verdict::Forged,
                "the seal names another authority than the key that signed it",
            ));
        }
        let number = claims.number();
        let Some(record) = self.certificate(number.as_str())? else {
            return Ok(Verification {
                verdict: Verdict::NotInLedger,
                reasons: vec![format!(
                    "{number} is signed by {} but is not in the ledger: report this seal",
                    signer.id
                )],
                claims: Some(claims),
                record: None,
            });
        };
        if SealClaims::of(&record.certificate, &record.hash) != claims {
            return Ok(Verification {
                verdict: Verdict::Forged,
                reasons: vec![format!(
                    "the seal differs from the ledger's record of {number}"
                )],
                claims: Some(claims),
                record: Some(record),
            });
        }
        Ok(Self::dated(claims, record, today))
    }

    /// Checks a certificate number on `today` against the ledger alone.
    pub fn verify_number(&self, number: &str, today: Date) -> Result<Verification, LedgerError> {
        match self.certificate(number)? {
            None => Ok(Verification::of(
                Verdict::Unknown,
                format!("no certificate {number} in the ledger"),
            )),
            Some(record) => {
                let claims = crate::seal::SealClaims::of(&record.certificate, &record.hash);
                Ok(Self::dated(claims, record, today))
            }
        }
    }

    fn dated(
        claims: crate::seal::SealClaims,
        record: IssuedCertificate,
        today: Date,
    ) -> Verification {
        use crate::seal::DateProblem;
        let (verdict, reason) = match claims.date_problem(today) {
            Some(p @ DateProblem::Expired(_)) => (Verdict::Expired, p.to_string()),
            Some(p @ DateProblem::IssuedInFuture(_)) => (Verdict::Forged, p.to_string()),
            None => (
                Verdict::Valid,
                format!(
                    "valid until {} inclusive; matches the ledger record",
                    claims.expires_on
                ),
            ),
        };
        Verification {
            verdict,
            reasons: vec![reason],
            claims: Some(claims),
            record: Some(record),
        }
    }
}
