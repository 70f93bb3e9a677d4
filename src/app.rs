//! The kpcert service: what authorities, officers and auditors can do, independent of HTTP or
//! the command line. Handlers and CLI commands are thin wrappers around [`App`].
//!
//! Everything the service knows about participants and authorities comes from the ledger state
//! ([`Ledger::state`]); the only things kept beside it are what the ledger must not hold: the
//! authorities' private keys (keys folder) and bearer-token hashes ([`crate::tokens`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use crate::clock::SharedClock;
use crate::codec::decode_entry;
use crate::codec::export::{write_export, ExportError, Level};
use crate::codec::seal::SealClaims;
use crate::codec::trust::TrustBundle;
use crate::crypto::{sha256, Hash, KeyId, PublicKey, SigningKey};
use crate::domain::participant::{parse_registry, REGISTRY_CSV};
use crate::domain::{
    Authority, Certificate, CertificateContent, CertificateNumber, CountryCode, Date, DraftInput,
    Event, Issuer, Participant, Problem, SignedCertificate, State, SECRETARIAT,
};
use crate::keys::{KeyDir, LEDGER_KEY, ROOT_KEY};
use crate::ledger::{AppendContext, Appended, Ledger, LedgerError, NewEntry, SignedCheckpoint};
use crate::tlog::note::valid_key_name;
use crate::tlog::{NoteSigner, NoteVerifier};
use crate::tokens::{Principal, Refused, Role, TokenError, Tokens, DEFAULT_TOKEN_DAYS};
use crate::verify::{self, LedgerTrust, Recorded, Verification};

mod documents;
mod lifecycle;
mod signed;
mod standing;
pub use documents::ProvenDocument;
pub use lifecycle::{History, Replacement};
pub use signed::{SubmittedConfirmation, SubmittedVoid};
pub use standing::ParticipantHistory;

/// Most certificate look-ups kept in memory.
const RECORD_CACHE_ENTRIES: usize = 10_000;

/// Default checkpoint origin (and ledger key name).
pub const DEFAULT_ORIGIN: &str = "kpcert.local/ledger";

/// How long a trust bundle is meant to be used before fetching a new one.
pub const TRUST_BUNDLE_VALIDITY_MS: u64 = 7 * 24 * 3600 * 1000;

/// Where the service keeps its state, and its clock.
#[derive(Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub keys_dir: PathBuf,
    /// The checkpoint origin line, also the ledger key's note name. Fixed on first run (kept
    /// in keys/ledger.origin); `None` keeps the recorded one or uses [`DEFAULT_ORIGIN`].
    pub origin: Option<String>,
    pub clock: SharedClock,
    /// Entries between snapshots of the ledger state (start-up replays at most this many plus
    /// a batch); [`crate::ledger::SNAPSHOT_EVERY`] unless a test wants the snapshot path.
    pub snapshot_every: u64,
}

/// Why the service could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Keys(std::io::Error),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Tokens(#[from] TokenError),
}

/// Why an issuance was refused.
#[derive(Debug)]
pub enum IssueError {
    /// The request breaks one or more rules; nothing was written.
    Invalid(Vec<Problem>),
    /// The authority asked to issue for another participant.
    Forbidden(String),
}

/// An authority that can act: its registration and its current signing key.
pub struct ActiveAuthority {
    pub authority: Authority,
    key: Arc<SigningKey>,
}

impl ActiveAuthority {
    /// The key id of the key it signs with now.
    pub fn key_id(&self) -> KeyId {
        self.key.public_key().key_id()
    }
}

/// What [`App::add_authority`] hands out once.
pub struct NewAuthority {
    pub authority: Authority,
    pub token: String,
}

/// How much of its ledger entry a certificate is read with and answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedgerDetail {
    /// Where the entry is: index, time, tree size.
    Position,
    /// The entry, its inclusion proof and the checkpoint it leads to as well.
    Proof,
}

/// An issued certificate with its ledger position and (see `proof`) its inclusion proof.
#[derive(Clone, Debug)]
pub struct IssuedCertificate {
    pub certificate: Certificate,
    /// The canonical certificate bytes (the full record) and their SHA-256.
    pub canonical: Vec<u8>,
    pub hash: Hash,
    /// The issuance the authority signed (what the public entry embeds) and its signature.
    pub issuance: Vec<u8>,
    pub signature: [u8; 64],
    /// The seal the authority signed, checked against the certificate and its key.
    pub seal: Vec<u8>,
    pub entry_index: u64,
    pub entry_time_ms: u64,
    /// The ledger entry's canonical bytes (the Merkle leaf data).
    pub entry: Vec<u8>,
    pub checkpoint: Arc<SignedCheckpoint>,
    /// Inclusion proof of the entry against `checkpoint`: always for a record read from the
    /// ledger files (it is what binds the bytes read to the signed tree); for a certificate
    /// just appended only when its answer asks for it (its entry's bytes are the writer's own,
    /// not read back).
    pub proof: Option<Vec<Hash>>,
}

impl IssuedCertificate {
    /// The claims a seal of this certificate states.
    pub fn claims(&self) -> SealClaims {
        SealClaims::of(&self.certificate, &self.hash)
    }
}

/// What an authority that keeps its own key needs to sign its next certificate
/// (`GET /v1/certificates/next`).
#[derive(Clone, Debug)]
pub struct NextNumber {
    pub number: CertificateNumber,
    pub issued_on: Date,
    pub issuer: Issuer,
    pub default_validity_days: u32,
    pub max_validity_days: u32,
    pub participants: Vec<CountryCode>,
}

impl NextNumber {
    /// The certificate for `input` under this number and issuer block, checked against every
    /// rule of issuance that needs no ledger (its participants are listed here); what an
    /// authority that keeps its own key then signs with [`crate::codec::record::issue`].
    pub fn certificate(
        &self,
        input: &DraftInput,
        salt: [u8; crate::domain::certificate::SALT_BYTES],
    ) -> Result<Certificate, Vec<Problem>> {
        let is_participant = |c| self.participants.contains(&c);
        let content = CertificateContent::validate(
            input,
            &crate::domain::IssuePolicy {
                issuer: self.issuer.participant,
                issued_on: self.issued_on,
                default_validity_days: self.default_validity_days,
                max_validity_days: self.max_validity_days,
                is_participant: &is_participant,
            },
        )?;
        Ok(Certificate {
            number: self.number.clone(),
            issuer: self.issuer.clone(),
            content,
            salt,
        })
    }
}

/// A certificate an authority signed with its own key (`POST /v1/certificates/signed`).
pub struct SubmittedCertificate {
    /// The canonical certificate bytes.
    pub canonical: Vec<u8>,
    /// The issuance bytes and the authority's signature over them.
    pub issuance: Vec<u8>,
    pub signature: [u8; 64],
    /// The seal's COSE_Sign1 bytes.
    pub seal: Vec<u8>,
}

/// An online border check: the verdict with the ledger record.
pub type OnlineVerification = Verification<Arc<IssuedCertificate>>;

/// The running service.
pub struct App {
    ledger: Ledger,
    keys: KeyDir,
    clock: SharedClock,
    /// Signing keys of the authorities whose key is in the keys folder, by authority id.
    signers: RwLock<HashMap<String, Arc<ActiveAuthority>>>,
    /// Every authority signing key held here, by key id: the issuance job signs with the key
    /// the ledger state names at the moment its entry is built, so a rotation recorded between
    /// a request and its entry is honoured instead of refused. A new key is added before the
    /// entry that registers it.
    held_keys: Arc<RwLock<HashMap<KeyId, Arc<SigningKey>>>>,
    /// The Secretariat root key that signs trust bundles.
    root_key: SigningKey,
    /// Recent look-ups by number, each with its proof against the tree size it was made for.
    record_cache: Mutex<HashMap<String, Arc<IssuedCertificate>>>,
    /// Seal signatures already verified (the verdict is judged afresh every time).
    seals: verify::SealCache,
    /// Serials reserved for certificates signed before the writer (`lifecycle::Presigned`).
    reservations: lifecycle::Reservations,
    /// Published statistics by year: fixed once the year's cut-off has passed (entries before
    /// it never change), so computed once.
    published: Mutex<HashMap<i64, Arc<crate::statistics::Published>>>,
    /// The files of recorded documents, by SHA-256.
    documents: crate::documents::DocumentStore,
    tokens: Tokens,
    verifier: NoteVerifier,
    /// The verifier key's text, written once (every border answer carries it).
    verifier_text: String,
    /// Serialises authority registration (key files, then the entry).
    registering: Mutex<()>,
    /// A Secretariat token minted at start, until the CLI takes it to print.
    bootstrap: Mutex<Option<String>>,
}

/// The keys-folder name of an authority signing key.
fn authority_key_name(key_id: &KeyId) -> String {
    format!("authority-{key_id}")
}

fn corrupt(e: impl std::fmt::Display) -> LedgerError {
    LedgerError::Corrupt(e.to_string())
}

impl App {
    /// Opens the data and keys folders, generating the ledger and root keys and recording the
    /// participant registry on first run.
    pub fn open(config: &Config) -> Result<App, AppError> {
        // A "folder" that is a file is refused by name, before any key is generated.
        for (what, dir) in [("data", &config.data_dir), ("keys", &config.keys_dir)] {
            if dir.exists() && !dir.is_dir() {
                return Err(AppError::Config(format!(
                    "the {what} folder {} is not a folder",
                    dir.display()
                )));
            }
        }
        let keys = KeyDir::open(&config.keys_dir).map_err(|e| match e.raw_os_error() {
            // An error of the system says nothing of which path: name it.
            Some(_) => AppError::Config(format!(
                "the keys folder {}: {e}",
                config.keys_dir.display()
            )),
            None => AppError::Keys(e),
        })?;
        if Ledger::holds_entries(&config.data_dir) && !keys.has_key(LEDGER_KEY) {
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
        crate::ledger::create_private_dir(&config.data_dir).map_err(|e| {
            AppError::Config(format!("cannot create {}: {e}", config.data_dir.display()))
        })?;
        if crate::ledger::readable_by_others(&config.data_dir) {
            tracing::warn!(
                path = %config.data_dir.display(),
                "the data folder is open to other users of this machine, and it holds every certificate's record: `chmod 700` it"
            );
        }
        let registry = parse_registry(REGISTRY_CSV).map_err(AppError::Config)?;
        let genesis = registry.iter().cloned().map(registration).collect();
        let ledger = Ledger::open_with(
            &config.data_dir,
            signer,
            config.clock.clone(),
            genesis,
            config.snapshot_every,
        )?;
        let app = App {
            ledger,
            keys,
            clock: config.clock.clone(),
            signers: RwLock::new(HashMap::new()),
            held_keys: Arc::new(RwLock::new(HashMap::new())),
            root_key,
            record_cache: Mutex::new(HashMap::new()),
            seals: verify::SealCache::default(),
            published: Mutex::new(HashMap::new()),
            reservations: Default::default(),
            documents: crate::documents::DocumentStore::new(&config.data_dir),
            tokens: Tokens::open(&config.data_dir)?,
            verifier_text: verifier.to_string(),
            verifier,
            registering: Mutex::new(()),
            bootstrap: Mutex::new(None),
        };
        app.sync_participants(&registry)?;
        app.load_signers()?;
        if !app.tokens.any(Role::Secretariat, app.clock.now_ms()) {
            let token = app.mint_token(Role::Secretariat, "secretariat", DEFAULT_TOKEN_DAYS)?;
            *app.bootstrap.lock().expect("bootstrap lock") = Some(token);
        }
        Ok(app)
    }

    /// Rows of the registry shipped in this binary that the ledger does not know yet (a newer
    /// registry) are recorded first, so that the ledger alone says who was a participant when; a
    /// row that differs from the recorded one is reported, not applied (status changes are
    /// ledger events of their own).
    fn sync_participants(&self, registry: &[Participant]) -> Result<(), AppError> {
        for row in registry {
            match self.ledger.state().participant(row.code) {
                Some(recorded) if &recorded.participant != row => {
                    tracing::warn!(participant = %row.code, "the shipped registry differs from the ledger's record; the ledger's is used")
                }
                Some(_) => {}
                None => {
                    let new = registration(row.clone());
                    self.ledger.append_blocking(move |_| Ok(new))?;
                    tracing::info!(participant = %row.code, "recorded a participant new to this ledger");
                }
            }
        }
        Ok(())
    }

    /// Keeps `key` among the signing keys held here (see `held_keys`); the one copy the
    /// issuance job and the authority's [`ActiveAuthority`] share.
    fn hold_key(&self, key: SigningKey) -> Arc<SigningKey> {
        let key = Arc::new(key);
        self.held_keys
            .write()
            .expect("held keys lock")
            .insert(key.public_key().key_id(), key.clone());
        key
    }

    /// Loads the signing keys found in the keys folder for the registered authorities. A key
    /// file that others can read or that holds another key stops the start (a security problem
    /// to fix, not to skip); a missing key file leaves that authority unable to issue.
    fn load_signers(&self) -> Result<(), AppError> {
        let mut map = HashMap::new();
        for record in self.ledger.state().authorities() {
            let authority = &record.authority;
            let Some(current) = record.current_key() else {
                tracing::warn!(authority = %authority.id, "no valid signing key (revoked and not replaced); the authority cannot issue");
                continue;
            };
            let name = authority_key_name(&current.key_id);
            match self.keys.load(&name) {
                Ok(key) if key.public_key() == current.public_key => {
                    let key = self.hold_key(key);
                    map.insert(
                        authority.id.clone(),
                        Arc::new(ActiveAuthority {
                            authority: authority.clone(),
                            key,
                        }),
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
                    tracing::info!(authority = %authority.id, path = %self.keys.key_path(&name).display(), "signing key not in the keys folder: the authority signs on its own systems")
                }
                Err(e) => {
                    return Err(AppError::Config(format!(
                        "the signing key of authority {}: {e}",
                        authority.id
                    )))
                }
            }
        }
        *self.signers.write().expect("signers lock") = map;
        Ok(())
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Today's UTC date by the service's clock.
    pub fn today(&self) -> Date {
        self.clock.today()
    }

    /// The ledger state as of the latest checkpoint.
    pub fn state(&self) -> Arc<State> {
        self.ledger.state()
    }

    /// The ledger's checkpoint verifier key (`name+hex8+base64`).
    pub fn ledger_verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// The ledger's checkpoint verifier key as text (`name+hex8+base64`).
    pub fn ledger_verifier_text(&self) -> &str {
        &self.verifier_text
    }

    /// Every registered authority, sorted by id.
    pub fn authorities(&self) -> Vec<Authority> {
        self.state()
            .authorities()
            .map(|a| a.authority.clone())
            .collect()
    }

    /// The active authority `id` (what `authenticate` returns for its token).
    pub fn active_authority(&self, id: &str) -> Option<Arc<ActiveAuthority>> {
        self.signers.read().expect("signers lock").get(id).cloned()
    }

    /// Whether the service generated key `key_id` (so that its private file belongs in the keys
    /// folder), as opposed to a key an authority keeps on its own systems.
    pub fn generated_key(&self, key_id: &KeyId) -> bool {
        self.keys.was_generated(&authority_key_name(key_id))
    }

    /// Whether authority `id` has its signing key here and can issue.
    pub fn can_issue(&self, id: &str) -> bool {
        self.signers.read().expect("signers lock").contains_key(id)
    }

    /// Registers an issuing authority for `participant`: generates its key into the keys folder,
    /// appends its registration to the ledger and returns a fresh bearer token.
    pub fn add_authority(
        &self,
        participant: &str,
        name: &str,
        max_validity_days: u32,
    ) -> Result<NewAuthority, AppError> {
        self.register_authority(participant, name, max_validity_days, None)
    }

    /// Registers an issuing authority for `participant`. With `own_key`, the authority keeps
    /// its private key and signs on its own systems: only the public key is registered and the
    /// service holds nothing it could sign with. Without, the service generates the key into
    /// the keys folder. Returns the registration and a fresh bearer token.
    pub fn register_authority(
        &self,
        participant: &str,
        name: &str,
        max_validity_days: u32,
        own_key: Option<PublicKey>,
    ) -> Result<NewAuthority, AppError> {
        let code = CountryCode::participant(participant)
            .filter(|c| self.state().is_participant(*c))
            .ok_or_else(|| {
                AppError::Config(format!(
                    "{participant:?} is not a Kimberley Process participant code"
                ))
            })?;
        let _guard = self.registering.lock().expect("registration lock");
        let key = match own_key {
            Some(_) => None,
            None => Some(SigningKey::generate()),
        };
        let public_key = own_key.unwrap_or_else(|| key.as_ref().expect("generated").public_key());
        let template = Authority {
            id: String::new(),
            participant: code,
            name: crate::domain::certificate::normalized(name.trim()),
            public_key,
            default_validity_days: Authority::default_validity_for(max_validity_days),
            max_validity_days,
        };
        if let Some(problem) = template.problem() {
            return Err(AppError::Config(problem));
        }
        if !self.state().keys_with_id(&public_key.key_id()).is_empty() {
            return Err(AppError::Config(
                "this public key (or another with its key id) is already registered to an authority".into(),
            ));
        }
        // The key is on disk before the ledger names it: a crash in between leaves an unused key
        // file, never a registered authority without its key.
        let key = match key {
            Some(key) => {
                self.keys
                    .store(&authority_key_name(&template.key_id()), &key)
                    .map_err(AppError::Keys)?;
                Some(self.hold_key(key))
            }
            None => None,
        };
        let appended = self.ledger.append_blocking(move |ctx| {
            let authority = Authority {
                id: ctx.state().next_authority_id(code),
                ..template
            };
            Ok(NewEntry {
                actor: SECRETARIAT.into(),
                key_id: None,
                event: Event::AuthorityRegistered(authority),
            })
        })?;
        let Event::AuthorityRegistered(authority) = appended.event else {
            unreachable!("we appended an authority registration");
        };
        if let Some(key) = key {
            self.signers.write().expect("signers lock").insert(
                authority.id.clone(),
                Arc::new(ActiveAuthority {
                    authority: authority.clone(),
                    key,
                }),
            );
        }
        let token = self.new_token(&authority.id)?;
        Ok(NewAuthority { authority, token })
    }

    /// Gives authority `authority_id` a new signing key (rotation): generated into the keys
    /// folder, or `own_key` when the authority keeps its private key. The new key signs from the
    /// entry on; what the previous key signed stays valid. Returns the new key's id.
    pub fn rotate_key(
        &self,
        authority_id: &str,
        own_key: Option<PublicKey>,
    ) -> Result<KeyId, AppError> {
        let _guard = self.registering.lock().expect("registration lock");
        let Some(record) = self.state().authority(authority_id).cloned() else {
            return Err(AppError::Config(format!(
                "no authority {authority_id} is registered"
            )));
        };
        let key = match own_key {
            Some(_) => None,
            None => Some(SigningKey::generate()),
        };
        let public_key = own_key.unwrap_or_else(|| key.as_ref().expect("generated").public_key());
        if !self.state().keys_with_id(&public_key.key_id()).is_empty() {
            return Err(AppError::Config(
                "this public key (or another with its key id) is already registered to an authority".into(),
            ));
        }
        let key = match key {
            Some(key) => {
                self.keys
                    .store(&authority_key_name(&public_key.key_id()), &key)
                    .map_err(AppError::Keys)?;
                Some(self.hold_key(key))
            }
            None => None,
        };
        let id = authority_id.to_owned();
        self.ledger.append_blocking(move |_| {
            Ok(NewEntry {
                actor: SECRETARIAT.into(),
                key_id: None,
                event: Event::KeyAdded(crate::domain::KeyAdded {
                    authority_id: id,
                    public_key,
                }),
            })
        })?;
        let mut signers = self.signers.write().expect("signers lock");
        match key {
            Some(key) => {
                signers.insert(
                    authority_id.to_owned(),
                    Arc::new(ActiveAuthority {
                        authority: record.authority,
                        key,
                    }),
                );
            }
            None => {
                signers.remove(authority_id);
            }
        }
        Ok(public_key.key_id())
    }

    /// Records that key `key_id` of authority `authority_id` was compromised from
    /// `compromised_from_ms` (at or before now), for `reason`. Certificates whose entry is at or
    /// after that time verify `key_revoked`; the key signs nothing more. If it was the current
    /// key, the authority cannot issue until [`App::rotate_key`] gives it a new one.
    pub fn revoke_key(
        &self,
        authority_id: &str,
        key_id: &str,
        compromised_from_ms: u64,
        reason: &str,
    ) -> Result<(), AppError> {
        let _guard = self.registering.lock().expect("registration lock");
        let Some(record) = self.state().authority(authority_id).cloned() else {
            return Err(AppError::Config(format!(
                "no authority {authority_id} is registered"
            )));
        };
        let matching: Vec<&crate::domain::KeyWindow> = record
            .keys
            .iter()
            .filter(|k| k.key_id.to_string() == key_id)
            .collect();
        let [key] = matching.as_slice() else {
            return Err(AppError::Config(format!(
                "authority {authority_id} has no key {key_id} (see its keys in GET /v1/admin/authorities)"
            )));
        };
        if key.revoked.is_some() {
            return Err(AppError::Config(format!(
                "key {key_id} of {authority_id} is already revoked"
            )));
        }
        if compromised_from_ms > self.clock.now_ms() {
            return Err(AppError::Config(
                "compromised_from is in the future: a compromise is recorded once it happened"
                    .into(),
            ));
        }
        let reason = crate::domain::certificate::normalized(reason.trim());
        if let Err(e) =
            crate::domain::certificate::text_rule(&reason, crate::domain::state::MAX_REASON_CHARS)
        {
            return Err(AppError::Config(format!("the reason {e}")));
        }
        let public_key = key.public_key;
        let id = authority_id.to_owned();
        self.ledger.append_blocking(move |_| {
            Ok(NewEntry {
                actor: SECRETARIAT.into(),
                key_id: None,
                event: Event::KeyRevoked(crate::domain::KeyRevoked {
                    authority_id: id,
                    public_key,
                    compromised_from_ms,
                    reason,
                }),
            })
        })?;
        let mut signers = self.signers.write().expect("signers lock");
        if signers
            .get(authority_id)
            .is_some_and(|s| s.key.public_key() == public_key)
        {
            signers.remove(authority_id);
        }
        Ok(())
    }

    /// Mints a new bearer token for `authority_id`, valid for the default 90 days; only its
    /// hash is stored.
    pub fn new_token(&self, authority_id: &str) -> Result<String, AppError> {
        self.mint_token(Role::Authority, authority_id, DEFAULT_TOKEN_DAYS)
    }

    /// Mints a token of `role` for `owner` (for an authority, its registered id), valid for
    /// `days`.
    pub fn mint_token(&self, role: Role, owner: &str, days: u64) -> Result<String, AppError> {
        if role == Role::Authority && self.state().authority(owner).is_none() {
            return Err(AppError::Config(format!(
                "no authority {owner} is registered"
            )));
        }
        if !(1..=3650).contains(&days) {
            return Err(AppError::Config("a token lives 1 to 3650 days".into()));
        }
        let now = self.clock.now_ms();
        Ok(self
            .tokens
            .mint(role, owner, now, now + days * 86_400_000)?)
    }

    /// Revokes every token of `authority_id`.
    pub fn revoke_tokens(&self, authority_id: &str) -> Result<usize, AppError> {
        Ok(self.tokens.revoke_owner(Role::Authority, authority_id)?)
    }

    /// The token store (listing, revoking by prefix).
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// Who holds `token`, now.
    pub fn authenticate(&self, token: &str) -> Result<Principal, Refused> {
        self.tokens.check(token, self.clock.now_ms())
    }

    /// The Secretariat token minted at this start because none was valid, once (the CLI prints
    /// it; it is never shown again).
    pub fn take_bootstrap_token(&self) -> Option<String> {
        self.bootstrap.lock().expect("bootstrap lock").take()
    }

    /// Checks an issuance request for `authority` today; writes nothing.
    pub fn validate(
        &self,
        authority: &ActiveAuthority,
        input: &DraftInput,
        claimed_issuer: Option<&str>,
        replacing: Option<&CertificateNumber>,
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
        let state = self.state();
        if let Some(why) = state.issuer_bar(a.participant, self.today()) {
            return Err(IssueError::Forbidden(format!(
                "{} may not issue certificates: {why}",
                a.participant
            )));
        }
        let content = state
            .validate(a, input, self.today())
            .map_err(IssueError::Invalid)?;
        let problems = state.provenance_problems(a.participant, &content.derived_from, replacing);
        if !problems.is_empty() {
            return Err(IssueError::Invalid(problems));
        }
        Ok(content)
    }

    /// The certificate an earlier request with idempotency `key` of `authority` created, and
    /// whether that request had the same body hash.
    pub fn idempotent_replay(
        &self,
        authority: &ActiveAuthority,
        key: &str,
        request_hash: &Hash,
    ) -> Result<Option<(bool, Arc<IssuedCertificate>)>, LedgerError> {
        let Some((hash, index)) = self.ledger.idempotency(&authority.authority.id, key)? else {
            return Ok(None);
        };
        let issued = Arc::new(self.issued_at(index)?);
        Ok(Some((&hash == request_hash, issued)))
    }

    /// Numbers, signs and durably records validated content, then calls `reply` once it is on
    /// disk (or failed). The certificate is numbered and signed here, on the caller's thread,
    /// and used by the ledger writer only if its number is still the next one when the entry is
    /// built (else the writer numbers and signs it itself), so a refused request consumes no
    /// number. If the day changed
    /// since validation (a request just before midnight UTC), the request is validated again
    /// for the day it is recorded on: a certificate's date of issue is the day of its entry.
    /// With an idempotency key (and the hash of the request body), a second request with the
    /// same key appends nothing: it fails with [`LedgerError::IdempotencyConflict`].
    pub fn issue(
        &self,
        authority: Arc<ActiveAuthority>,
        input: Arc<DraftInput>,
        content: CertificateContent,
        idempotency: Option<(String, Hash)>,
        reply: impl FnOnce(Result<Appended, LedgerError>) + Send + 'static,
    ) {
        let held = self.held_keys.clone();
        // The two signatures are made here, on the request's thread; the writer checks that
        // the certificate is still exactly what it would make (next serial, today, the key
        // named now) and otherwise numbers and signs it itself.
        let (presigned, answered, order) =
            lifecycle::presign(&self.reservations, || self.state(), &authority, &content);
        let reply = move |r| {
            reply(r);
            drop(answered);
        };
        self.ledger.submit_ordered(
            order,
            move |ctx| {
                let a = &authority.authority;
                let key = lifecycle::signer_on_writer(&held, ctx, a, &idempotency)?;
                let key_id = key.public_key().key_id();
                let signed = match lifecycle::presigned_on_writer(ctx, a, &key, &presigned) {
                    Some(signed) => {
                        crate::metrics::global().issued(true);
                        signed
                    }
                    None => {
                        let signed =
                            lifecycle::certificate_on_writer(ctx, a, &key, &input, content, None)?;
                        crate::metrics::global().issued(false);
                        signed
                    }
                };
                drop(presigned);
                Ok(NewEntry {
                    actor: a.id.clone(),
                    key_id: Some(key_id),
                    event: Event::CertificateIssued(signed),
                })
            },
            reply,
        );
    }

    /// The answer for a certificate entry [`App::issue`] appended: the certificate with, in
    /// `detail` [`LedgerDetail::Proof`], its inclusion proof against the checkpoint of its
    /// commit. Call it off the ledger's threads.
    pub fn issued(
        &self,
        appended: Appended,
        detail: LedgerDetail,
    ) -> Result<IssuedCertificate, LedgerError> {
        self.record(
            appended.index,
            appended.time_ms,
            appended.entry_bytes,
            appended.event,
            appended.checkpoint,
            detail,
        )
    }

    /// A certificate entry, and in `detail` [`LedgerDetail::Proof`] its inclusion proof against
    /// `checkpoint`, which checks that the entry's bytes are what the signed tree commits to:
    /// nothing read from disk is answered, sealed or called valid before it passes this, so
    /// every record read from the files is proven; only an entry the writer just appended, whose
    /// bytes never left memory, may go without.
    fn record(
        &self,
        index: u64,
        time_ms: u64,
        entry: Vec<u8>,
        event: Event,
        checkpoint: Arc<SignedCheckpoint>,
        detail: LedgerDetail,
    ) -> Result<IssuedCertificate, LedgerError> {
        let Event::CertificateIssued(SignedCertificate {
            issuance,
            signed,
            signature,
            record: Some(full),
        }) = event
        else {
            return Err(self.ledger.corruption(format!(
                "entry {index} is not a certificate issuance with its record"
            )));
        };
        let proof = if detail == LedgerDetail::Proof {
            Some(
                self.ledger
                    .proven_inclusion(index, &entry, &checkpoint.checkpoint)?,
            )
        } else {
            None
        };
        Ok(IssuedCertificate {
            hash: issuance.certificate_hash,
            certificate: full.certificate,
            canonical: full.canonical,
            issuance: signed,
            signature,
            seal: full.seal,
            entry_index: index,
            entry_time_ms: time_ms,
            entry,
            checkpoint,
            proof,
        })
    }

    /// Binds the record read beside certificate entry `index` to it: its certificate is the one
    /// the issuance commits to, and its seal states that certificate and verifies with the key
    /// the entry names.
    fn attach_record(
        &self,
        index: u64,
        signed: &mut SignedCertificate,
        record: &[u8],
    ) -> Result<(), LedgerError> {
        let bad = |why: String| {
            self.ledger
                .corruption(format!("the record of entry {index}: {why}"))
        };
        let full = crate::codec::decode_record(record).map_err(|e| bad(e.to_string()))?;
        let issuance = &signed.issuance;
        if sha256(&full.canonical) != issuance.certificate_hash
            || full.certificate.number != issuance.number
        {
            return Err(bad("it is not the certificate the entry commits to".into()));
        }
        let opened = crate::codec::record::check_seal(&full, issuance).map_err(bad)?;
        let state = self.state();
        // Through the seal cache: a border check of a genuine seal has just verified these
        // same bytes (the scanned seal is the recorded one), so a first scan pays for one
        // verify_strict, not two.
        let key_ok = state.authority(&issuance.authority_id).is_some_and(|a| {
            a.keys.iter().any(|k| {
                k.key_id == issuance.key_id && self.seals.signed_by(&opened, &k.public_key)
            })
        });
        if !key_ok {
            return Err(bad("its seal does not verify with the issuing key".into()));
        }
        signed.record = Some(Box::new(full));
        Ok(())
    }

    /// What authority `id` needs to sign its next certificate with its own key: the next
    /// number of its participant today, the issuer block, its validity limits and the
    /// participants a certificate may be sent to. The number is not reserved: another issuance
    /// of the same participant may take it first, and the signed certificate is then refused
    /// (409) and must be signed again with the next number.
    pub fn next_number(&self, id: &str) -> Option<NextNumber> {
        let state = self.state();
        let record = state.authority(id)?;
        let a = &record.authority;
        let key = record.current_key()?;
        let issued_on = self.today();
        let year = issued_on.year();
        Some(NextNumber {
            number: CertificateNumber::new(
                a.participant,
                year,
                state.next_serial(a.participant, year),
            ),
            issued_on,
            issuer: a.issuer(key.key_id),
            default_validity_days: a.default_validity_days,
            max_validity_days: a.max_validity_days,
            participants: state.participants().map(|p| p.participant.code).collect(),
        })
    }

    /// Checks a certificate that authority `id` signed with its own key (`kpcert sign`): the
    /// canonical certificate decodes and names this authority and its current key, the
    /// issuance is exactly the issuance of that certificate, the signature verifies with the
    /// registered key, and the seal states the certificate and verifies too. Every problem is
    /// named; nothing is written. The number, the date and the rules of issuance are checked
    /// again when the entry is appended ([`App::record_signed`]).
    pub fn check_signed(
        &self,
        id: &str,
        submitted: &SubmittedCertificate,
    ) -> Result<SignedCertificate, Vec<Problem>> {
        let state = self.state();
        let one = |field: &str, message: String| vec![Problem::new(field, message)];
        let Some(record) = state.authority(id) else {
            return Err(one(
                "authority",
                format!("{id} is not a registered authority"),
            ));
        };
        let a = &record.authority;
        let Some(key) = record.current_key() else {
            return Err(one(
                "authority",
                format!("authority {id} has no valid key: the Secretariat must give it a new one"),
            ));
        };
        let certificate = crate::codec::decode_certificate(&submitted.canonical).map_err(|e| {
            one(
                "canonical",
                format!(
                    "is not a canonical {} encoding: {e}",
                    crate::codec::certificate::CERTIFICATE_CONTEXT
                ),
            )
        })?;
        let mut problems = Vec::new();
        // The salt hides the certificate behind its public hash only if nobody can guess it:
        // a constant one (all one byte, as zeros) is refused. kpcert sign draws it at random.
        if certificate.salt.iter().all(|b| *b == certificate.salt[0]) {
            problems.push(Problem::new(
                "canonical",
                "the salt must be 16 random bytes (this one repeats one byte): with a guessable salt the public hash confirms a guess of the certificate's content",
            ));
        }
        let issuer = &certificate.issuer;
        if issuer.authority_id != a.id
            || issuer.participant != a.participant
            || issuer.authority_name != a.name
        {
            problems.push(Problem::new(
                "canonical",
                format!(
                    "the issuer block must be that of authority {} ({}, {}) as GET /v1/certificates/next states it",
                    a.id, a.participant, a.name
                ),
            ));
        }
        if issuer.key_id != key.key_id {
            problems.push(Problem::new(
                "canonical",
                format!(
                    "names key {}, but the current key of authority {} is {}",
                    issuer.key_id, a.id, key.key_id
                ),
            ));
        }
        let hash = sha256(&submitted.canonical);
        let issuance = crate::codec::record::issuance_of(&certificate, &hash);
        if crate::codec::encode_issuance(&issuance) != submitted.issuance {
            problems.push(Problem::new(
                "issuance",
                "is not the issuance of this certificate (kpcert/issuance/v2 of its number, authority, key, dates and SHA-256)",
            ));
        } else if !key
            .public_key
            .verify_strict(&submitted.issuance, &submitted.signature)
        {
            problems.push(Problem::new(
                "signature",
                format!(
                    "does not verify over the issuance with key {} of authority {}",
                    key.key_id, a.id
                ),
            ));
        }
        let full = crate::domain::CertificateRecord {
            certificate,
            canonical: submitted.canonical.clone(),
            seal: submitted.seal.clone(),
        };
        match crate::codec::record::check_seal(&full, &issuance) {
            Err(why) => problems.push(Problem::new("seal", why)),
            Ok(opened) if !opened.verify(&key.public_key) => problems.push(Problem::new(
                "seal",
                format!(
                    "does not verify with key {} of authority {}",
                    key.key_id, a.id
                ),
            )),
            Ok(_) => {}
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(SignedCertificate {
            issuance,
            signed: submitted.issuance.clone(),
            signature: submitted.signature,
            record: Some(Box::new(full)),
        })
    }

    /// Records a certificate [`App::check_signed`] accepted, then calls `reply` once it is on
    /// disk (or failed). On the writer, against the state it is appended to: the signing key
    /// is still the authority's current key, the date of issue is today, the number is the
    /// participant's next (a number already used is [`LedgerError::NumberTaken`]), and the
    /// content follows every rule of issuance. Nothing is written otherwise.
    pub fn record_signed(
        &self,
        id: String,
        signed: SignedCertificate,
        reply: impl FnOnce(Result<Appended, LedgerError>) + Send + 'static,
    ) {
        self.ledger.submit(
            move |ctx| signed_certificate_entry(ctx, &id, signed, None),
            reply,
        );
    }

    /// [`App::issue`], waiting for the answer (for the CLI and tests).
    pub fn issue_blocking(
        &self,
        authority: Arc<ActiveAuthority>,
        input: Arc<DraftInput>,
        content: CertificateContent,
    ) -> Result<IssuedCertificate, LedgerError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.issue(authority, input, content, None, move |r| {
            let _ = tx.send(r);
        });
        self.issued(
            rx.recv().unwrap_or(Err(LedgerError::Closed))?,
            LedgerDetail::Proof,
        )
    }

    /// The certificate `number` as recorded, with a proof against the latest checkpoint.
    /// Look-ups are cached per number while the ledger size stays the same: an entry never
    /// changes and its proof against a given tree size never does either, and verification
    /// traffic far exceeds issuance.
    pub fn certificate(&self, number: &str) -> Result<Option<Arc<IssuedCertificate>>, LedgerError> {
        let size = self.ledger.size();
        if let Some(hit) = self.record_cache.lock().expect("record cache").get(number) {
            if hit.checkpoint.checkpoint.size == size {
                return Ok(Some(hit.clone()));
            }
        }
        // The state published with the head: its record of the number is committed.
        let Some(index) = CertificateNumber::parse(number)
            .and_then(|n| self.state().life(&n).map(|l| l.issued_index))
        else {
            return Ok(None);
        };
        let issued = Arc::new(self.issued_at(index)?);
        debug_assert!(issued.proof.is_some(), "a record read is proven");
        if issued.certificate.number.as_str() != number {
            return Err(self.ledger.corruption(format!(
                "the ledger state sends {number} to entry {index}, which records {}",
                issued.certificate.number
            )));
        }
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
        let frame = self
            .ledger
            .frame(index)?
            .ok_or_else(|| corrupt(format!("missing entry {index}")))?;
        let mut entry = decode_entry(&frame.entry)
            .map_err(|e| self.ledger.corruption(format!("entry {index}: {e}")))?;
        if entry.index != index {
            return Err(self.ledger.corruption(format!(
                "reading entry {index} gave entry {} (offsets.dat?)",
                entry.index
            )));
        }
        if let Event::CertificateIssued(signed) = &mut entry.event {
            self.attach_record(index, signed, &frame.record)?;
        }
        self.record(
            index,
            entry.time_ms,
            frame.entry,
            entry.event,
            checkpoint,
            LedgerDetail::Proof,
        )
    }

    /// The seal of an issued certificate, as its authority signed it (checked when read).
    pub fn seal(&self, issued: &IssuedCertificate) -> Vec<u8> {
        issued.seal.clone()
    }

    /// Writes the portable export of the ledger as of its latest checkpoint (api/export.md), at
    /// `level`: public (entries only) or full (with every certificate's record, each checked
    /// against the commitment of its entry before it is written).
    pub fn export(&self, level: Level, out: impl std::io::Write) -> Result<(), ExportError> {
        let head = self.ledger.head();
        let size = head.checkpoint.size;
        let io = |e: LedgerError| ExportError::Io(std::io::Error::other(e.to_string()));
        write_export(
            out,
            level,
            &head.note,
            size,
            self.ledger.frames(0, size).map(move |r| {
                let (index, frame) = r.map_err(io)?;
                if level == Level::Full && !frame.record.is_empty() {
                    let mut entry = decode_entry(&frame.entry)
                        .map_err(|e| io(corrupt(format!("entry {index}: {e}"))))?;
                    if let Event::CertificateIssued(signed) = &mut entry.event {
                        self.attach_record(index, signed, &frame.record)
                            .map_err(io)?;
                    } else {
                        self.entry_at(index).map_err(io)?;
                    }
                }
                Ok(frame)
            }),
        )
    }

    /// The Secretariat root key's public half (pinned by offline verifiers).
    pub fn root_public_key(&self) -> PublicKey {
        self.root_key.public_key()
    }

    /// The signed trust bundle for offline verifiers, valid for [`TRUST_BUNDLE_VALIDITY_MS`].
    pub fn trust_bundle(&self) -> String {
        TrustBundle::of_state(
            &self.state(),
            self.clock.now_ms(),
            TRUST_BUNDLE_VALIDITY_MS,
            self.verifier.name(),
            &self.verifier_text,
        )
        .to_signed_json(&self.root_key)
    }

    fn lookup(
        &self,
        number: &CertificateNumber,
    ) -> Result<Option<(Recorded, Arc<IssuedCertificate>)>, LedgerError> {
        Ok(self.certificate(number.as_str())?.map(|r| {
            (
                Recorded {
                    claims: r.claims(),
                    seal_hash: sha256(&r.seal),
                    entry_ms: r.entry_time_ms,
                    key_id: r.certificate.issuer.key_id,
                    entry_index: r.entry_index,
                },
                r,
            )
        }))
    }

    /// How many seal signature checks (border checks, records read) a signature verified before
    /// answered.
    pub fn seal_signatures_remembered(&self) -> u64 {
        self.seals.remembered()
    }

    /// Checks scanned QR text today against the ledger (the one verdict engine, online).
    pub fn verify_qr(&self, qr: &str) -> Result<OnlineVerification, LedgerError> {
        let state = self.state();
        let lookup = |n: &CertificateNumber| self.lookup(n);
        let v = verify::verify_qr(
            &LedgerTrust {
                state: &state,
                lookup: &lookup,
                seals: &self.seals,
            },
            qr,
            self.today(),
        )?;
        crate::metrics::global().verdict(v.verdict);
        Ok(v)
    }

    /// Checks a certificate number today against the ledger alone.
    pub fn verify_number(&self, number: &str) -> Result<OnlineVerification, LedgerError> {
        let state = self.state();
        let lookup = |n: &CertificateNumber| self.lookup(n);
        let v = verify::verify_number(
            &LedgerTrust {
                state: &state,
                lookup: &lookup,
                seals: &self.seals,
            },
            number,
            self.today(),
        )?;
        crate::metrics::global().verdict(v.verdict);
        Ok(v)
    }

    /// Stops the ledger writer after queued work and flushes; writes the tokens' last uses.
    pub fn close(&self) {
        self.ledger.close();
        if let Err(e) = self.tokens.flush() {
            tracing::warn!(error = %e, "could not write the tokens' last uses");
        }
    }
}

/// The registry entry of a participant.
fn registration(p: Participant) -> NewEntry {
    NewEntry {
        actor: SECRETARIAT.into(),
        key_id: None,
        event: Event::ParticipantRegistered(p),
    }
}

/// On the writer: the entry of a certificate authority `id` signed with its own key, checked
/// against the state it is appended to: the signing key is still the authority's current key,
/// the date of issue is today, the number is the participant's next (a number already used is
/// [`LedgerError::NumberTaken`]), and the content follows every rule of issuance. With
/// `replacing`, the certificate must state that it replaces that one (whose draws count as
/// given back).
pub(crate) fn signed_certificate_entry(
    ctx: &AppendContext<'_>,
    id: &str,
    signed: SignedCertificate,
    replacing: Option<&CertificateNumber>,
) -> Result<NewEntry, LedgerError> {
    let state = ctx.state();
    let Some(record) = state.authority(id) else {
        return Err(LedgerError::Invalid(vec![Problem::new(
            "authority",
            format!("{id} is not a registered authority"),
        )]));
    };
    let a = &record.authority;
    let issuance = &signed.issuance;
    let number = &issuance.number;
    let day = Date::from_unix_ms(ctx.time_ms());
    if let Some(why) = state.issuer_bar(a.participant, day) {
        return Err(LedgerError::Refused(
            crate::domain::state::Refusal::Forbidden(format!(
                "{} may not issue certificates: {why}",
                a.participant
            )),
        ));
    }
    let mut problems = Vec::new();
    if record.key_at(ctx.time_ms()).map(|k| k.key_id) != Some(issuance.key_id) {
        problems.push(Problem::new(
            "issuance",
            format!(
                "key {} is no longer the current key of authority {}",
                issuance.key_id, a.id
            ),
        ));
    }
    if issuance.issued_on != day {
        problems.push(Problem::new(
                "canonical",
                format!(
                    "issued_on is {}, but a certificate is dated the day it is recorded, {day}: sign it again with GET /v1/certificates/next",
                    issuance.issued_on
                ),
            ));
    }
    let next = state.next_serial(a.participant, number.year());
    if number.participant() != a.participant || number.year() != issuance.issued_on.year() {
        problems.push(Problem::new(
            "canonical",
            format!(
                "number {number} must carry participant {} and the year of issue",
                a.participant
            ),
        ));
    } else if number.serial() < next {
        return Err(LedgerError::NumberTaken(format!(
                "{number} is already recorded: ask GET /v1/certificates/next for the next number ({}) and sign again",
                CertificateNumber::new(a.participant, number.year(), next)
            )));
    } else if number.serial() > next {
        problems.push(Problem::new(
            "canonical",
            format!(
                "number {number} skips numbers: the next is {}",
                CertificateNumber::new(a.participant, number.year(), next)
            ),
        ));
    }
    if let Some(full) = &signed.record {
        let content = &full.certificate.content;
        problems.extend(state.content_problems(a, content, day));
        problems.extend(state.provenance_problems(a.participant, &content.derived_from, replacing));
        if content.replaces.as_ref() != replacing {
            problems.push(Problem::new(
                    "canonical",
                    match replacing {
                        None => "states a certificate it replaces: a replacement is recorded with POST /v1/certificates/{number}/replace/signed".to_owned(),
                        Some(old) => format!("must state that it replaces {old} (replaces: {old})"),
                    },
                ));
        }
    }
    if !problems.is_empty() {
        return Err(LedgerError::Invalid(problems));
    }
    Ok(NewEntry {
        actor: a.id.clone(),
        key_id: Some(issuance.key_id),
        event: Event::CertificateIssued(signed),
    })
}
