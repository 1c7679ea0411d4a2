//! What callers hand the manager to create or change a token, and what creation returns.

use std::collections::BTreeMap;

use crate::expiry::Lifetime;
use crate::record::TokenInfo;
use crate::secret::PlaintextToken;

/// The details of a token to create.
///
/// # Examples
///
/// ```
/// use api_tokens::{Lifetime, NewToken};
/// use time::Duration;
///
/// let request = NewToken::new("deploy from CI", Lifetime::For(Duration::days(30)))
///     .owner("team-infra")
///     .scope("repo:read")
///     .scope("repo:write")
///     .metadata("created-by", "alice");
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct NewToken {
    pub(crate) name: String,
    pub(crate) lifetime: Lifetime,
    pub(crate) owner: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) metadata: BTreeMap<String, String>,
}

impl NewToken {
    /// A token with this name and lifetime, no owner, no scopes and no metadata.
    pub fn new(name: impl Into<String>, lifetime: Lifetime) -> Self {
        Self {
            name: name.into(),
            lifetime,
            owner: None,
            scopes: Vec::new(),
            metadata: BTreeMap::new(),
        }
    }

    /// Names the user or service the token belongs to.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Adds a scope; `*` grants every scope.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Adds several scopes.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds a metadata entry, replacing any earlier value for the key.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let _ = self.metadata.insert(key.into(), value.into());
        self
    }
}

/// Changes to an existing token; fields left unset stay as they are.
///
/// # Examples
///
/// ```
/// use api_tokens::{Lifetime, TokenUpdate};
///
/// let change = TokenUpdate::new().name("deploy (old CI)").expires(Lifetime::Never);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct TokenUpdate {
    pub(crate) name: Option<String>,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) lifetime: Option<Lifetime>,
}

impl TokenUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renames the token.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Replaces all of the token's scopes.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Gives the token a new expiry, counted from now.
    pub fn expires(mut self, lifetime: Lifetime) -> Self {
        self.lifetime = Some(lifetime);
        self
    }
}

/// A freshly minted token: the plaintext, shown once, and the details that were stored.
#[derive(Debug)]
#[must_use = "the plaintext token is shown only once; hand it to its owner"]
pub struct CreatedToken {
    pub(crate) token: PlaintextToken,
    pub(crate) info: TokenInfo,
}

impl CreatedToken {
    /// The plaintext token. It is not stored anywhere and cannot be shown again.
    pub fn token(&self) -> &PlaintextToken {
        &self.token
    }

    /// The stored details: id, name, owner, scopes, dates.
    pub fn info(&self) -> &TokenInfo {
        &self.info
    }

    /// Splits the value into the plaintext token and the stored details.
    pub fn into_parts(self) -> (PlaintextToken, TokenInfo) {
        (self.token, self.info)
    }
}
