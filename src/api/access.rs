//! Who may call what: callers resolved from bearer tokens, roles, scopes and rights.
//!
//! The access config is a TOML file of tokens stored as salted, slow argon2id hashes (PHC
//! strings, made by `fundledger token hash`), never in clear: a stolen config does not
//! give away even a short token the way a bare SHA-256 did. [`Authenticator`] (a tonic
//! interceptor) turns the `authorization: Bearer …` header into a [`Caller`] and puts it
//! in the request's extensions; each RPC then asks
//! [`authorize`] for the one [`Right`] it needs. The table of which role holds which right
//! is the one exhaustive `match` in [`Right::roles`], so a new command RPC declares its
//! right in one line, plus one for a scoped command:
//!
//! ```text
//! let caller = access::authorize(&request, Right::Enroll)?;
//! caller.require_employer(&request.get_ref().employer_id)?;
//! // ... caller.name is the actor recorded on the appended events
//! ```

use std::collections::HashSet;
use std::fmt;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};
use sha2::{Digest, Sha256};
use tonic::{Request, Status};

/// The longest access config file read, in bytes.
pub const ACCESS_CONFIG_BYTES_MAX: u64 = 1024 * 1024;
/// The most tokens one access config may hold. A token seen for the first time is checked
/// against every entry with argon2 (each entry has its own salt, so there is no index), so
/// an unknown token costs one slow hash per entry: this keeps that bounded.
pub const ACCESS_TOKENS_MAX: usize = 256;
/// The longest `authorization` header value accepted, in bytes.
pub const AUTHORIZATION_BYTES_MAX: usize = 4096;
/// The longest argon2 PHC string accepted in the config, in bytes.
pub const ARGON2_PHC_BYTES_MAX: usize = 256;
/// The least memory an entry's argon2 hash may use, in KiB: argon2's default (19 MiB,
/// OWASP's minimum for argon2id), so that a config cannot hold a fast hash.
pub const ARGON2_MEMORY_KIB_MIN: u32 = Params::DEFAULT_M_COST;
/// The most memory an entry's argon2 hash may make each verification use, in KiB.
pub const ARGON2_MEMORY_KIB_MAX: u32 = 256 * 1024;
/// The least argon2 passes an entry's hash may use (argon2's default).
pub const ARGON2_PASSES_MIN: u32 = Params::DEFAULT_T_COST;
/// The most argon2 passes an entry's hash may make each verification run.
pub const ARGON2_PASSES_MAX: u32 = 16;
/// The most argon2 lanes an entry's hash may name.
pub const ARGON2_LANES_MAX: u32 = 8;
/// How many tokens that verified are remembered, by the SHA-256 of the token, so that each
/// pays the slow hash once per process (argon2 takes tens of milliseconds; a request must
/// not).
pub const VERIFIED_TOKENS_MAX: usize = 1024;
/// How many refused tokens are remembered likewise, so that a client retrying a wrong
/// token does not make the server hash it against every entry again.
pub const REFUSED_TOKENS_MAX: usize = 1024;
/// How many first-time token checks (argon2 against the entries, on the request's thread)
/// may run at once; a request that would start another is answered UNAVAILABLE, to retry.
/// A flood of unknown tokens then holds at most this many threads, and tokens already
/// verified keep answering.
pub const TOKEN_VERIFICATIONS_MAX: usize = 1;

const _: () = assert!(ARGON2_MEMORY_KIB_MIN <= ARGON2_MEMORY_KIB_MAX);
const _: () = assert!(ARGON2_PASSES_MIN <= ARGON2_PASSES_MAX);
const _: () = assert!(
    ACCESS_TOKENS_MAX <= VERIFIED_TOKENS_MAX,
    "every token of a full config stays verified"
);

/// What a caller is, which decides its rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The tax bureau: collections and back-payments.
    TaxBureau,
    /// An employer's HR system: registration, enrollment, declarations of its own employer.
    Employer,
    /// A designated hospital: maternity medical claims of its own institution.
    Hospital,
    /// The benefits desk: maternity allowances.
    BenefitsDesk,
    /// An operator: rules, settlement, administration; reads everything.
    Operator,
    /// An auditor: every read, verification and stream; no writes.
    Auditor,
}

impl Role {
    /// The role's name as written in the access config.
    pub fn name(self) -> &'static str {
        match self {
            Role::TaxBureau => "tax_bureau",
            Role::Employer => "employer",
            Role::Hospital => "hospital",
            Role::BenefitsDesk => "benefits_desk",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// Which part of the ledger a caller's writes are confined to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// No confinement beyond the role's rights.
    Unscoped,
    /// Only this employer's registration, enrollments and declarations.
    Employer(String),
    /// Only this medical institution's claims.
    Institution(String),
}

/// Something an RPC does that needs permission. One variant per RPC (the command RPCs of
/// the domain are listed already so that their rights are decided in one place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    /// Read raw events by position, stream or type.
    ReadEvents,
    /// Stream events, catch-up then live.
    Subscribe,
    /// Recompute the hash chain.
    VerifyLog,
    /// Read the store's figures.
    ReadStats,
    /// Register an employer (scoped to the employer).
    RegisterEmployer,
    /// Enroll an employee (scoped to the employer).
    Enroll,
    /// Declare a contribution base (scoped to the employer).
    DeclareBase,
    /// Assess a month's contributions.
    Assess,
    /// Post collected contributions.
    Collect,
    /// Post back-payments for arrears.
    BackPay,
    /// Amend a rule of the rulebook.
    AmendRule,
    /// Settle the maternity fund's clearance.
    SettleClearance,
    /// Transfer a balance between funds.
    Transfer,
    /// Close the maternity fund account.
    CloseFund,
    /// Claim maternity medical expenses (scoped to the institution).
    MedicalClaim,
    /// Pay a maternity allowance.
    PayAllowance,
    /// Pay a maternity allowance although one was granted for the same birth (the request
    /// carries an override reason, recorded on the grant). A right of its own so that the
    /// desk that pays cannot also waive the one-allowance-per-birth rule.
    OverrideSameBirth,
    /// Read a region's books: balances, lines, statistics, risk band.
    ReadBooks,
    /// Read an employer's contributions and arrears (scoped to the employer).
    ReadEmployer,
    /// Read a person's enrollment and benefits.
    ReadPerson,
    /// Read the rulebook in force.
    ReadRules,
    /// Rebuild a projection or store a checkpoint.
    Rebuild,
    /// Suspend, resume or terminate an enrollment. Not an employer's right: the request
    /// names a person, not an employer, so no employer scope could be enforced on it.
    ChangeEnrollmentStatus,
}

impl Right {
    /// The roles that hold this right: the whole access policy, in one match.
    pub fn roles(self) -> &'static [Role] {
        use Role::{Auditor, BenefitsDesk, Employer, Hospital, Operator, TaxBureau};
        match self {
            Right::ReadEvents | Right::Subscribe | Right::VerifyLog | Right::ReadStats => {
                &[Operator, Auditor]
            }
            Right::RegisterEmployer | Right::Enroll | Right::DeclareBase => &[Employer, Operator],
            Right::Assess => &[TaxBureau, Operator],
            Right::Collect | Right::BackPay => &[TaxBureau],
            Right::AmendRule | Right::SettleClearance | Right::Transfer | Right::CloseFund => {
                &[Operator]
            }
            Right::MedicalClaim => &[Hospital],
            Right::Rebuild | Right::ChangeEnrollmentStatus => &[Operator],
            Right::ReadBooks => &[Operator, Auditor, TaxBureau, BenefitsDesk],
            Right::ReadEmployer => &[Operator, Auditor, TaxBureau, Employer],
            Right::ReadPerson => &[Operator, Auditor, BenefitsDesk, Hospital],
            Right::ReadRules => &[
                Operator,
                Auditor,
                TaxBureau,
                BenefitsDesk,
                Hospital,
                Employer,
            ],
            Right::PayAllowance => &[BenefitsDesk],
            Right::OverrideSameBirth => &[Operator],
        }
    }
}

/// Who is calling: resolved once per request by [`Authenticator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name from the access config (`local` under local trust): the actor
    /// recorded on appended events.
    pub name: String,
    /// What the caller is.
    pub role: Role,
    /// What its writes are confined to.
    pub scope: Scope,
    /// True only under local trust (no access config, loopback only): the caller holds
    /// every right, so one developer can drive the whole ledger from this machine.
    pub local_trust: bool,
}

impl Caller {
    /// The caller every request is under local trust.
    pub fn local() -> Self {
        Caller {
            name: "local".to_owned(),
            role: Role::Operator,
            scope: Scope::Unscoped,
            local_trust: true,
        }
    }

    /// PERMISSION_DENIED unless the caller may act for `employer_id`: an employer only for
    /// its own, the other roles holding the right for any.
    pub fn require_employer(&self, employer_id: &str) -> Result<(), Status> {
        match &self.scope {
            Scope::Employer(own) if own != employer_id => Err(Status::permission_denied(format!(
                "{} may act only for employer {own}",
                self.name
            ))),
            Scope::Institution(_) => Err(Status::permission_denied(format!(
                "{} is a medical institution, not employer {employer_id}",
                self.name
            ))),
            Scope::Employer(_) | Scope::Unscoped => Ok(()),
        }
    }

    /// PERMISSION_DENIED unless the caller may act for `institution_id`.
    pub fn require_institution(&self, institution_id: &str) -> Result<(), Status> {
        match &self.scope {
            Scope::Institution(own) if own != institution_id => Err(Status::permission_denied(
                format!("{} may act only for institution {own}", self.name),
            )),
            Scope::Employer(_) => Err(Status::permission_denied(format!(
                "{} is an employer, not institution {institution_id}",
                self.name
            ))),
            Scope::Institution(_) | Scope::Unscoped => Ok(()),
        }
    }
}

/// The caller of `request` if it holds `right`: UNAUTHENTICATED when no caller was
/// resolved, PERMISSION_DENIED when its role lacks the right.
pub fn authorize<T>(request: &Request<T>, right: Right) -> Result<Caller, Status> {
    let caller = request
        .extensions()
        .get::<Caller>()
        .ok_or_else(|| Status::unauthenticated("no caller: send authorization: Bearer <token>"))?;
    if !caller.local_trust && !right.roles().contains(&caller.role) {
        return Err(Status::permission_denied(format!(
            "{} ({}) may not {right:?}; allowed: {}",
            caller.name,
            caller.role,
            right
                .roles()
                .iter()
                .map(|role| role.name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    tracing::Span::current().record("caller", caller.name.as_str());
    Ok(caller.clone())
}

/// Why an access config was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessConfigError {
    /// The file could not be read.
    #[error("cannot read the access config {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`ACCESS_CONFIG_BYTES_MAX`].
    #[error("the access config {path} is larger than {ACCESS_CONFIG_BYTES_MAX} bytes")]
    TooLarge {
        /// The file.
        path: String,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("the access config is malformed: {0}")]
    Malformed(#[from] toml::de::Error),
    /// A token entry breaks a rule.
    #[error("access config token {name:?}: {field}: {rule}")]
    InvalidToken {
        /// The token's name.
        name: String,
        /// The field at fault.
        field: &'static str,
        /// The rule it broke.
        rule: String,
    },
    /// More tokens than [`ACCESS_TOKENS_MAX`].
    #[error("the access config holds {count} tokens, at most {ACCESS_TOKENS_MAX} allowed")]
    TooManyTokens {
        /// How many it holds.
        count: usize,
    },
}

/// One token entry of the access config file.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    role: Role,
    /// The token's argon2id PHC string.
    argon2: Option<String>,
    /// A bare SHA-256 digest, as configs before argon2 held: read only to refuse it with
    /// a message saying how to make the argon2 entry.
    sha256: Option<String>,
    employer_id: Option<String>,
    institution_id: Option<String>,
}

/// The access config file: a list of `[[token]]` tables.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessFile {
    #[serde(default)]
    token: Vec<TokenEntry>,
}

/// The tokens the server accepts: each entry's argon2 hash and the caller it stands for,
/// with the tokens already verified or refused remembered (shared by clones).
#[derive(Debug, Clone, Default)]
pub struct AccessConfig {
    entries: Vec<(String, Caller)>,
    seen: Arc<Mutex<SeenTokens>>,
    /// First-time checks running now, at most [`TOKEN_VERIFICATIONS_MAX`].
    verifying: Arc<AtomicUsize>,
}

/// Why a token resolved to no caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// No entry's hash is this token's.
    Unknown,
    /// The token was not seen before and [`TOKEN_VERIFICATIONS_MAX`] checks are running:
    /// retry.
    Busy,
}

/// One running first-time check, counted in `verifying` until dropped.
struct Verifying<'a>(&'a AtomicUsize);

impl Drop for Verifying<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Tokens already checked, by the SHA-256 of the token (a fast, unsalted digest is fine
/// here: it never leaves the process memory).
#[derive(Debug)]
struct SeenTokens {
    /// The index of the entry each verified token matched.
    verified: lru::LruCache<[u8; 32], usize>,
    /// Tokens that matched no entry.
    refused: lru::LruCache<[u8; 32], ()>,
}

impl Default for SeenTokens {
    fn default() -> Self {
        let capacity = |size: usize| NonZeroUsize::new(size).unwrap_or(NonZeroUsize::MIN);
        SeenTokens {
            verified: lru::LruCache::new(capacity(VERIFIED_TOKENS_MAX)),
            refused: lru::LruCache::new(capacity(REFUSED_TOKENS_MAX)),
        }
    }
}

impl AccessConfig {
    /// Reads and checks an access config file.
    pub fn load(path: &Path) -> Result<Self, AccessConfigError> {
        let shown = path.display().to_string();
        let metadata = std::fs::metadata(path).map_err(|source| AccessConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        if metadata.len() > ACCESS_CONFIG_BYTES_MAX {
            return Err(AccessConfigError::TooLarge { path: shown });
        }
        let text = std::fs::read_to_string(path).map_err(|source| AccessConfigError::Read {
            path: shown,
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and checks the text of an access config.
    pub fn parse(text: &str) -> Result<Self, AccessConfigError> {
        let file: AccessFile = toml::from_str(text)?;
        if file.token.len() > ACCESS_TOKENS_MAX {
            return Err(AccessConfigError::TooManyTokens {
                count: file.token.len(),
            });
        }
        let mut entries = Vec::with_capacity(file.token.len());
        let mut names = HashSet::new();
        let mut hashes = HashSet::new();
        for entry in file.token {
            let (hash, caller) = check_entry(entry)?;
            if !names.insert(caller.name.clone()) {
                return Err(invalid(&caller.name, "name", "is used by another token"));
            }
            if !hashes.insert(hash.clone()) {
                return Err(invalid(&caller.name, "argon2", "is used by another token"));
            }
            entries.push((hash, caller));
        }
        Ok(AccessConfig {
            entries,
            seen: Arc::default(),
            verifying: Arc::default(),
        })
    }

    /// How many tokens the config holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the config holds no token (then no call is admitted).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller a clear-text token stands for. The first time a token is seen it is
    /// verified with argon2 against the entries in file order (tens of milliseconds per
    /// entry tried); the answer is remembered, so later requests with it cost a SHA-256
    /// and a map lookup.
    pub fn caller(&self, token: &str) -> Option<&Caller> {
        self.resolve(token).ok()
    }

    /// As [`AccessConfig::caller`], telling an unknown token from a first-time check that
    /// could not start because [`TOKEN_VERIFICATIONS_MAX`] are running.
    pub fn resolve(&self, token: &str) -> Result<&Caller, TokenRefusal> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(index) = seen.verified.get(&key) {
                return self.entry(*index);
            }
            if seen.refused.get(&key).is_some() {
                return Err(TokenRefusal::Unknown);
            }
        }
        if self.verifying.fetch_add(1, Ordering::AcqRel) >= TOKEN_VERIFICATIONS_MAX {
            self.verifying.fetch_sub(1, Ordering::AcqRel);
            return Err(TokenRefusal::Busy);
        }
        let running = Verifying(&self.verifying);
        // Verified without the lock held: two first requests with one token both hash it.
        let found = self
            .entries
            .iter()
            .position(|(hash, _)| token_matches(token, hash));
        drop(running);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        match found {
            Some(index) => {
                seen.verified.put(key, index);
                self.entry(index)
            }
            None => {
                seen.refused.put(key, ());
                Err(TokenRefusal::Unknown)
            }
        }
    }

    fn entry(&self, index: usize) -> Result<&Caller, TokenRefusal> {
        self.entries
            .get(index)
            .map(|(_, caller)| caller)
            .ok_or(TokenRefusal::Unknown)
    }
}

/// Whether `token` is the one whose argon2 PHC string is `hash` (checked on load).
fn token_matches(token: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(token.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Why a token could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum TokenHashError {
    /// The token is empty (after its trailing newline is dropped).
    #[error("the token is empty")]
    Empty,
    /// The token is longer than an `authorization` header may carry.
    #[error("the token is longer than {AUTHORIZATION_BYTES_MAX} bytes")]
    TooLong,
    /// argon2 failed.
    #[error("argon2 failed: {0}")]
    Argon2(String),
}

/// The argon2id PHC string of `token` with a fresh random salt and argon2's default
/// parameters (19 MiB, 2 passes, 1 lane), as an access config entry's `argon2` field
/// holds it.
pub fn hash_token(token: &str) -> Result<String, TokenHashError> {
    if token.is_empty() {
        return Err(TokenHashError::Empty);
    }
    if token.len() > AUTHORIZATION_BYTES_MAX {
        return Err(TokenHashError::TooLong);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(token.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| TokenHashError::Argon2(error.to_string()))
}

/// Checks an entry's argon2 PHC string: argon2id, with parameters between the limits
/// above; returns the rule it breaks.
fn check_argon2(hash: &str) -> Result<(), String> {
    const HOW: &str = "make one with: printf %s TOKEN | fundledger token hash";
    if hash.len() > ARGON2_PHC_BYTES_MAX {
        return Err(format!("is longer than {ARGON2_PHC_BYTES_MAX} bytes"));
    }
    let parsed = PasswordHash::new(hash)
        .map_err(|error| format!("is not an argon2id PHC string ({error}); {HOW}"))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(format!(
            "is a {} hash, not argon2id; {HOW}",
            parsed.algorithm
        ));
    }
    let params = Params::try_from(&parsed)
        .map_err(|error| format!("has unusable argon2 parameters ({error}); {HOW}"))?;
    if !(ARGON2_MEMORY_KIB_MIN..=ARGON2_MEMORY_KIB_MAX).contains(&params.m_cost())
        || !(ARGON2_PASSES_MIN..=ARGON2_PASSES_MAX).contains(&params.t_cost())
        || params.p_cost() > ARGON2_LANES_MAX
    {
        return Err(format!(
            "asks for m={} KiB, t={}, p={}: allowed m {ARGON2_MEMORY_KIB_MIN}..={ARGON2_MEMORY_KIB_MAX}, \
             t {ARGON2_PASSES_MIN}..={ARGON2_PASSES_MAX}, p ..={ARGON2_LANES_MAX}; {HOW}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        ));
    }
    if parsed.hash.is_none() || parsed.salt.is_none() {
        return Err(format!("has no salt or no hash; {HOW}"));
    }
    Ok(())
}

fn invalid(name: &str, field: &'static str, rule: &str) -> AccessConfigError {
    AccessConfigError::InvalidToken {
        name: name.to_owned(),
        field,
        rule: rule.to_owned(),
    }
}

fn check_entry(entry: TokenEntry) -> Result<(String, Caller), AccessConfigError> {
    let name = entry.name;
    if name.is_empty() || name.len() > crate::log::COMMAND_ID_BYTES_MAX {
        return Err(invalid(&name, "name", "must be 1 to 200 bytes"));
    }
    // A bare SHA-256 is refused, not accepted with a warning: a low-entropy token falls to
    // a brute force of its digest in seconds, and a warning in a log is easily missed.
    let hash = match (entry.argon2, entry.sha256) {
        (Some(hash), None) => hash,
        (_, Some(_)) => {
            return Err(invalid(
                &name,
                "sha256",
                "bare SHA-256 digests are no longer accepted (a short token falls to a brute \
                 force of its digest); replace the line with the argon2 line that \
                 `printf %s TOKEN | fundledger token hash` prints",
            ));
        }
        (None, None) => {
            return Err(invalid(
                &name,
                "argon2",
                "is missing: add the line that `printf %s TOKEN | fundledger token hash` prints",
            ));
        }
    };
    check_argon2(&hash).map_err(|rule| invalid(&name, "argon2", &rule))?;
    let scope = match (entry.role, entry.employer_id, entry.institution_id) {
        (Role::Employer, Some(employer), None) if !employer.is_empty() => Scope::Employer(employer),
        (Role::Employer, _, _) => {
            return Err(invalid(
                &name,
                "employer_id",
                "an employer token needs a non-empty employer_id and no institution_id",
            ));
        }
        (Role::Hospital, None, Some(institution)) if !institution.is_empty() => {
            Scope::Institution(institution)
        }
        (Role::Hospital, _, _) => {
            return Err(invalid(
                &name,
                "institution_id",
                "a hospital token needs a non-empty institution_id and no employer_id",
            ));
        }
        (_, None, None) => Scope::Unscoped,
        (role, _, _) => {
            return Err(invalid(
                &name,
                "employer_id",
                &format!("a {role} token takes neither employer_id nor institution_id"),
            ));
        }
    };
    let caller = Caller {
        name,
        role: entry.role,
        scope,
        local_trust: false,
    };
    Ok((hash, caller))
}

/// How the server decides who is calling.
#[derive(Debug, Clone)]
pub enum AccessMode {
    /// Every caller holds every right ([`Caller::local`]); only for a loopback address.
    LocalTrust,
    /// Every call needs a bearer token from this config.
    Tokens(Arc<AccessConfig>),
}

/// The interceptor that resolves each request's caller (see the module docs).
#[derive(Debug, Clone)]
pub struct Authenticator {
    mode: AccessMode,
}

impl Authenticator {
    /// An authenticator for `mode`.
    pub fn new(mode: AccessMode) -> Self {
        Authenticator { mode }
    }

    fn resolve(&self, request: &Request<()>) -> Result<Caller, Status> {
        let config = match &self.mode {
            AccessMode::LocalTrust => return Ok(Caller::local()),
            AccessMode::Tokens(config) => config,
        };
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("send authorization: Bearer <token>"))?;
        if header.len() > AUTHORIZATION_BYTES_MAX {
            return Err(Status::unauthenticated("authorization header too long"));
        }
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| Status::unauthenticated("authorization must be Bearer <token>"))?;
        match config.resolve(token) {
            Ok(caller) => Ok(caller.clone()),
            Err(TokenRefusal::Unknown) => Err(Status::unauthenticated("unknown token")),
            Err(TokenRefusal::Busy) => Err(Status::unavailable(
                "too many new tokens are being verified at once; retry",
            )),
        }
    }
}

impl tonic::service::Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let caller = self.resolve(&request)?;
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// The config line's value for `token`.
    fn hash(token: &str) -> String {
        hash_token(token).unwrap()
    }

    /// A well-formed config resolves each token to its role and scope, and nothing else;
    /// each answer is remembered, so the slow hash runs once per token.
    #[test]
    fn config_resolves_tokens_to_callers() {
        let text = format!(
            "[[token]]\nname = \"acme-hr\"\nrole = \"employer\"\nemployer_id = \"E1\"\n\
             argon2 = \"{}\"\n\n[[token]]\nname = \"audit\"\nrole = \"auditor\"\n\
             argon2 = \"{}\"\n",
            hash("employer-secret"),
            hash("auditor-secret")
        );
        let config = AccessConfig::parse(&text).unwrap();
        assert_eq!(config.len(), 2);
        let employer = config.caller("employer-secret").unwrap();
        assert_eq!(employer.role, Role::Employer);
        assert_eq!(employer.scope, Scope::Employer("E1".to_owned()));
        assert_eq!(config.caller("auditor-secret").unwrap().role, Role::Auditor);
        assert!(config.caller("guess").is_none());
        assert!(
            config.caller("auditor-secret ").is_none(),
            "no trimming inside"
        );
        let seen = config.seen.lock().unwrap();
        assert_eq!((seen.verified.len(), seen.refused.len()), (2, 2));
        drop(seen);
        // Remembered answers are the same answers.
        assert_eq!(config.caller("auditor-secret").unwrap().name, "audit");
        assert!(config.caller("guess").is_none());
    }

    /// An employer token without an employer id, or an auditor with one, is refused.
    #[test]
    fn scopes_must_match_roles() {
        let without = format!(
            "[[token]]\nname = \"e\"\nrole = \"employer\"\nargon2 = \"{}\"\n",
            hash("x")
        );
        assert!(matches!(
            AccessConfig::parse(&without),
            Err(AccessConfigError::InvalidToken {
                field: "employer_id",
                ..
            })
        ));
        let auditor = format!(
            "[[token]]\nname = \"a\"\nrole = \"auditor\"\ninstitution_id = \"H\"\n\
             argon2 = \"{}\"\n",
            hash("x")
        );
        assert!(matches!(
            AccessConfig::parse(&auditor),
            Err(AccessConfigError::InvalidToken { .. })
        ));
    }

    /// A bare SHA-256 entry (the old format) is refused with the command that makes its
    /// replacement; so are clear text, another algorithm, fast parameters and duplicates.
    #[test]
    fn only_slow_salted_hashes_are_accepted() {
        let entry = |field: &str, value: &str| {
            format!("[[token]]\nname = \"a\"\nrole = \"auditor\"\n{field} = \"{value}\"\n")
        };
        let refused_field = |text: &str| match AccessConfig::parse(text) {
            Err(AccessConfigError::InvalidToken { field, rule, .. }) => (field, rule),
            other => panic!("refused, not {other:?}"),
        };
        let sha256 = hex::encode(Sha256::digest(b"auditor-secret-1"));
        let (field, rule) = refused_field(&entry("sha256", &sha256));
        assert_eq!(field, "sha256");
        assert!(rule.contains("fundledger token hash"), "{rule}");
        assert_eq!(refused_field(&entry("argon2", "secret")).0, "argon2");
        let argon2i = "$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$\
                       iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A";
        assert_eq!(refused_field(&entry("argon2", argon2i)).0, "argon2");
        let fast = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$\
                    iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A";
        assert_eq!(refused_field(&entry("argon2", fast)).0, "argon2");
        let twice = format!(
            "[[token]]\nname = \"a\"\nrole = \"auditor\"\nargon2 = \"{0}\"\n\
             [[token]]\nname = \"b\"\nrole = \"operator\"\nargon2 = \"{0}\"\n",
            hash("same")
        );
        assert_eq!(refused_field(&twice).0, "argon2");
    }

    /// While the one first-time check allowed runs, another new token is answered Busy (to
    /// retry), and a token already verified still resolves.
    #[test]
    fn new_tokens_wait_their_turn_but_known_ones_do_not() {
        let text = format!(
            "[[token]]\nname = \"audit\"\nrole = \"auditor\"\nargon2 = \"{}\"\n",
            hash("auditor-secret")
        );
        let config = AccessConfig::parse(&text).unwrap();
        assert_eq!(config.resolve("auditor-secret").unwrap().name, "audit");
        // As if another request's first-time check were running now.
        config
            .verifying
            .store(TOKEN_VERIFICATIONS_MAX, Ordering::Release);
        assert_eq!(config.resolve("new-token"), Err(TokenRefusal::Busy));
        assert_eq!(config.resolve("auditor-secret").unwrap().name, "audit");
        config.verifying.store(0, Ordering::Release);
        assert_eq!(config.resolve("new-token"), Err(TokenRefusal::Unknown));
        assert_eq!(
            config.verifying.load(Ordering::Acquire),
            0,
            "the check is counted out"
        );
    }

    /// A hashed token is an argon2id PHC string with a random salt: the same token hashes
    /// differently each time, and each hash verifies it.
    #[test]
    fn token_hashes_are_salted_argon2id() {
        let (first, second) = (hash("auditor-secret-1"), hash("auditor-secret-1"));
        assert!(
            first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{first}"
        );
        assert_ne!(first, second);
        assert!(token_matches("auditor-secret-1", &first));
        assert!(token_matches("auditor-secret-1", &second));
        assert!(!token_matches("auditor-secret-2", &first));
        assert!(matches!(hash_token(""), Err(TokenHashError::Empty)));
    }

    /// An employer may act for its own employer only, and never for an institution.
    #[test]
    fn scoped_callers_stay_in_scope() {
        let employer = Caller {
            name: "acme-hr".to_owned(),
            role: Role::Employer,
            scope: Scope::Employer("E1".to_owned()),
            local_trust: false,
        };
        assert!(employer.require_employer("E1").is_ok());
        assert_eq!(
            employer.require_employer("E2").unwrap_err().code(),
            tonic::Code::PermissionDenied
        );
        assert_eq!(
            employer.require_institution("H1").unwrap_err().code(),
            tonic::Code::PermissionDenied
        );
        assert!(Caller::local().require_employer("E2").is_ok());
    }

    /// Auditors hold no write right; every right has at least one role.
    #[test]
    fn auditors_never_write() {
        let writes = [
            Right::RegisterEmployer,
            Right::Enroll,
            Right::DeclareBase,
            Right::Assess,
            Right::Collect,
            Right::BackPay,
            Right::AmendRule,
            Right::SettleClearance,
            Right::Transfer,
            Right::CloseFund,
            Right::MedicalClaim,
            Right::PayAllowance,
            Right::OverrideSameBirth,
        ];
        for right in writes {
            assert!(!right.roles().is_empty(), "{right:?} has a role");
            assert!(!right.roles().contains(&Role::Auditor), "{right:?}");
        }
        for right in [
            Right::ReadEvents,
            Right::Subscribe,
            Right::VerifyLog,
            Right::ReadStats,
        ] {
            assert!(right.roles().contains(&Role::Auditor), "{right:?}");
        }
    }
}
