//! The result of a successful verification.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::MissingScope;
use crate::expiry::Expiry;
use crate::id::TokenId;
use crate::record::TokenRecord;

/// A token that passed verification: who it is, what it may do and until when.
///
/// It shares the store's record rather than copying it, so producing one does not
/// allocate. It holds no secret and no hash.
#[derive(Clone)]
pub struct VerifiedToken {
    record: Arc<TokenRecord>,
}

impl VerifiedToken {
    pub(crate) fn new(record: Arc<TokenRecord>) -> Self {
        Self { record }
    }

    /// The token's public id.
    pub fn id(&self) -> &TokenId {
        self.record.id()
    }

    /// Its name.
    pub fn name(&self) -> &str {
        self.record.name()
    }

    /// The user or service it belongs to, if one was named.
    pub fn owner(&self) -> Option<&str> {
        self.record.owner()
    }

    /// Its scopes, sorted.
    pub fn scopes(&self) -> &[String] {
        self.record.scopes()
    }

    /// Its metadata.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        self.record.metadata()
    }

    /// When it expires.
    pub fn expires(&self) -> Expiry {
        self.record.expires()
    }

    /// Whether the token carries `scope`, or the wildcard scope `*`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes()
            .iter()
            .any(|held| held == "*" || held == scope)
    }

    /// Checks that the token carries `scope`, or the wildcard scope `*`.
    ///
    /// # Errors
    ///
    /// [`MissingScope`] naming the scope when the token lacks it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use api_tokens::*;
    /// # let key = HashingKey::new(&[7; 32]).unwrap();
    /// # let manager = TokenManager::builder(MemoryStore::new(), key, "acme").build().unwrap();
    /// let created = manager.create(NewToken::new("reader", Lifetime::Never).scope("repo:read"))?;
    /// let verified = manager.verify(created.token().expose_secret())?;
    ///
    /// assert!(verified.require_scope("repo:read").is_ok());
    /// assert!(verified.require_scope("repo:write").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn require_scope(&self, scope: &str) -> Result<(), MissingScope> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(MissingScope {
                scope: scope.to_owned(),
            })
        }
    }
}

impl std::fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("id", self.id())
            .field("name", &self.name())
            .field("owner", &self.owner())
            .field("scopes", &self.scopes())
            .field("expires", &self.expires())
            .finish_non_exhaustive()
    }
}
