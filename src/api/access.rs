//! Who may call what: callers resolved from bearer tokens, roles, scopes and rights.
//!
//! The access config is a TOML file of tokens stored as SHA-256 hex digests, never in
//! clear. [`Authenticator`] (a tonic interceptor) turns the `authorization: Bearer …`
//! header into a [`Caller`] and puts it in the request's extensions; each RPC then asks
//! [`authorize`] for the one [`Right`] it needs. The table of which role holds which right
//! is the one exhaustive `match` in [`Right::roles`], so a new command RPC declares its
//! right in one line, plus one for a scoped command:
//!
//! ```text
//! let caller = access::authorize(&request, Right::Enroll)?;
//! caller.require_employer(&request.get_ref().employer_id)?;
//! // ... caller.name is the actor recorded on the appended events
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tonic::{Request, Status};

/// The longest access config file read, in bytes.
pub const ACCESS_CONFIG_BYTES_MAX: u64 = 1024 * 1024;
/// The most tokens one access config may hold.
pub const ACCESS_TOKENS_MAX: usize = 10_000;
/// The longest `authorization` header value accepted, in bytes.
pub const AUTHORIZATION_BYTES_MAX: usize = 4096;
/// The length of a SHA-256 digest in hex.
const SHA256_HEX_CHARS: usize = 64;

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
    sha256: String,
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

/// The tokens the server accepts, by the SHA-256 of the token.
#[derive(Debug, Clone, Default)]
pub struct AccessConfig {
    callers: HashMap<String, Caller>,
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
        let mut callers = HashMap::with_capacity(file.token.len());
        let mut names = std::collections::HashSet::new();
        for entry in file.token {
            let (digest, caller) = check_entry(entry)?;
            if !names.insert(caller.name.clone()) {
                return Err(invalid(&caller.name, "name", "is used by another token"));
            }
            if callers.insert(digest, caller.clone()).is_some() {
                return Err(invalid(&caller.name, "sha256", "is used by another token"));
            }
        }
        Ok(AccessConfig { callers })
    }

    /// How many tokens the config holds.
    pub fn len(&self) -> usize {
        self.callers.len()
    }

    /// Whether the config holds no token (then no call is admitted).
    pub fn is_empty(&self) -> bool {
        self.callers.is_empty()
    }

    /// The caller a clear-text token stands for.
    pub fn caller(&self, token: &str) -> Option<&Caller> {
        self.callers
            .get(&hex::encode(Sha256::digest(token.as_bytes())))
    }
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
    let digest = entry.sha256.to_ascii_lowercase();
    if digest.len() != SHA256_HEX_CHARS || !digest.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(invalid(
            &name,
            "sha256",
            "must be the 64 hex digits of the token's SHA-256 (printf %s TOKEN | sha256sum)",
        ));
    }
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
    Ok((digest, caller))
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
        config
            .caller(token)
            .cloned()
            .ok_or_else(|| Status::unauthenticated("unknown token"))
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

    fn digest(token: &str) -> String {
        hex::encode(Sha256::digest(token.as_bytes()))
    }

    /// A well-formed config resolves each token to its role and scope, and nothing else.
    #[test]
    fn config_resolves_tokens_to_callers() {
        let text = format!(
            "[[token]]\nname = \"acme-hr\"\nrole = \"employer\"\nemployer_id = \"E1\"\n\
             sha256 = \"{}\"\n\n[[token]]\nname = \"audit\"\nrole = \"auditor\"\n\
             sha256 = \"{}\"\n",
            digest("employer-secret"),
            digest("auditor-secret").to_uppercase()
        );
        let config = AccessConfig::parse(&text).unwrap();
        assert_eq!(config.len(), 2);
        let employer = config.caller("employer-secret").unwrap();
        assert_eq!(employer.role, Role::Employer);
        assert_eq!(employer.scope, Scope::Employer("E1".to_owned()));
        assert_eq!(config.caller("auditor-secret").unwrap().role, Role::Auditor);
        assert!(config.caller("guess").is_none());
    }

    /// An employer token without an employer id, or an auditor with one, is refused.
    #[test]
    fn scopes_must_match_roles() {
        let without = format!(
            "[[token]]\nname = \"e\"\nrole = \"employer\"\nsha256 = \"{}\"\n",
            digest("x")
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
             sha256 = \"{}\"\n",
            digest("x")
        );
        assert!(matches!(
            AccessConfig::parse(&auditor),
            Err(AccessConfigError::InvalidToken { .. })
        ));
    }

    /// A clear-text token in the sha256 field is refused, as are duplicate digests.
    #[test]
    fn digests_must_be_hex_and_unique() {
        let clear = "[[token]]\nname = \"a\"\nrole = \"auditor\"\nsha256 = \"secret\"\n";
        assert!(matches!(
            AccessConfig::parse(clear),
            Err(AccessConfigError::InvalidToken {
                field: "sha256",
                ..
            })
        ));
        let twice = format!(
            "[[token]]\nname = \"a\"\nrole = \"auditor\"\nsha256 = \"{0}\"\n\
             [[token]]\nname = \"b\"\nrole = \"operator\"\nsha256 = \"{0}\"\n",
            digest("same")
        );
        assert!(matches!(
            AccessConfig::parse(&twice),
            Err(AccessConfigError::InvalidToken {
                field: "sha256",
                ..
            })
        ));
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
