//! The manager: mints, verifies, lists, changes, rotates and deletes tokens in a store.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use ring::rand::SystemRandom;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::error::{ConfigError, InvalidInput, ManageError, StoreError, VerifyError};
use crate::expiry::{Clock, EARLIEST_INSTANT, Expiry, LATEST_INSTANT, Lifetime, SystemClock};
use crate::format::{Prefix, SecretText, TokenFormat};
use crate::id::TokenId;
use crate::record::{NewRecord, TokenInfo, TokenRecord};
use crate::request::{CreatedToken, NewToken, TokenUpdate};
use crate::secret::{DUMMY_HASH, HashingKey, KeyId, PlaintextToken, random_id_and_secret};
use crate::store::TokenStore;
use crate::validate;
use crate::verified::VerifiedToken;

/// How often, at most, a token's last-use time is written by default.
pub const DEFAULT_LAST_USED_RESOLUTION: Duration = Duration::minutes(1);

/// Issues and checks the tokens of one service.
///
/// Build one at start-up with [`TokenManager::builder`] and share it (it is `Send + Sync`);
/// every method takes `&self`.
///
/// # Examples
///
/// ```
/// use api_tokens::{HashingKey, Lifetime, MemoryStore, NewToken, TokenManager};
///
/// let key = HashingKey::new(&HashingKey::generate_bytes()?[..])?;
/// let manager = TokenManager::builder(MemoryStore::new(), key, "acme").build()?;
///
/// let created = manager.create(NewToken::new("laptop", Lifetime::Never))?;
/// let verified = manager.verify(created.token().expose_secret())?;
/// assert_eq!(verified.name(), "laptop");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TokenManager<S> {
    store: S,
    format: TokenFormat,
    current_key: HashingKey,
    previous_keys: Vec<HashingKey>,
    clock: Arc<dyn Clock>,
    max_lifetime: Option<Duration>,
    last_used_resolution: std::time::Duration,
    rng: SystemRandom,
}

/// Configures a [`TokenManager`]; made by [`TokenManager::builder`].
#[must_use]
pub struct TokenManagerBuilder<S> {
    store: S,
    prefix: String,
    current_key: HashingKey,
    previous_keys: Vec<HashingKey>,
    clock: Arc<dyn Clock>,
    max_lifetime: Option<Duration>,
    last_used_resolution: Duration,
}

impl<S: TokenStore> TokenManagerBuilder<S> {
    /// Accepts records hashed under an older key too. Successful verifies re-hash them
    /// under the current key, so an old key can be dropped once no record names it.
    pub fn previous_key(mut self, key: HashingKey) -> Self {
        self.previous_keys.push(key);
        self
    }

    /// Reads time from `clock` instead of the system clock.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Refuses tokens that would live longer than `max`, including ones that never expire.
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = Some(max);
        self
    }

    /// Writes a token's last-use time at most once per `resolution`
    /// (default [`DEFAULT_LAST_USED_RESOLUTION`]); zero writes it on every verify.
    pub fn last_used_resolution(mut self, resolution: Duration) -> Self {
        self.last_used_resolution = resolution;
        self
    }

    /// Checks the configuration and builds the manager.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an invalid prefix, two keys with the same id, a negative
    /// last-use resolution or a maximum lifetime that is not positive.
    pub fn build(self) -> Result<TokenManager<S>, ConfigError> {
        let prefix = Prefix::new(&self.prefix)?;

        let mut key_ids: Vec<KeyId> = self.previous_keys.iter().map(HashingKey::id).collect();
        key_ids.push(self.current_key.id());
        key_ids.sort_unstable();
        if key_ids.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(ConfigError::DuplicateKey);
        }

        if self.last_used_resolution.is_negative() {
            return Err(ConfigError::NegativeResolution);
        }
        if self.max_lifetime.is_some_and(|max| !max.is_positive()) {
            return Err(ConfigError::NonPositiveMaxLifetime);
        }

        Ok(TokenManager {
            store: self.store,
            format: TokenFormat::new(prefix),
            current_key: self.current_key,
            previous_keys: self.previous_keys,
            clock: self.clock,
            max_lifetime: self.max_lifetime,
            last_used_resolution: self.last_used_resolution.unsigned_abs(),
            rng: SystemRandom::new(),
        })
    }
}

impl<S: TokenStore> TokenManager<S> {
    /// Starts configuring a manager over `store` that hashes new tokens under `key` and
    /// mints tokens beginning with `prefix` and an underscore.
    pub fn builder(store: S, key: HashingKey, prefix: &str) -> TokenManagerBuilder<S> {
        TokenManagerBuilder {
            store,
            prefix: prefix.to_owned(),
            current_key: key,
            previous_keys: Vec::new(),
            clock: Arc::new(SystemClock),
            max_lifetime: None,
            last_used_resolution: DEFAULT_LAST_USED_RESOLUTION,
        }
    }

    /// The store this manager works on.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The format of this manager's tokens.
    pub fn format(&self) -> &TokenFormat {
        &self.format
    }

    /// Mints a token and stores its hash.
    ///
    /// # Errors
    ///
    /// [`ManageError::Invalid`] for a name, owner, scope, metadata entry or lifetime that
    /// breaks the rules (see [`validate`](crate::validate)), [`ManageError::Random`] if the
    /// system generator fails, [`ManageError::Store`] if the store does.
    ///
    /// # Security
    ///
    /// The returned plaintext is the only copy of the secret; the store receives only its
    /// HMAC under the current hashing key.
    pub fn create(&self, request: NewToken) -> Result<CreatedToken, ManageError> {
        let name = validate::name(&request.name)?;
        if let Some(owner) = &request.owner {
            validate::owner(owner)?;
        }
        let scopes = validate::scopes(request.scopes)?;
        validate::metadata(&request.metadata)?;

        let now = self.now()?;
        let expires = self.expiry_from(request.lifetime, now)?;

        let (id, secret) = random_id_and_secret(&self.rng).map_err(|_| ManageError::Random)?;
        let record = TokenRecord::new(NewRecord {
            id,
            name,
            owner: request.owner,
            scopes,
            metadata: request.metadata,
            created_at: now,
            expires,
            key_id: self.current_key.id(),
            hash: self.current_key.hash(&secret),
        });
        let info = record.info();
        self.store.insert(record)?;

        let token = PlaintextToken::new(self.format.encode(&id, &secret));
        Ok(CreatedToken { token, info })
    }

    /// Checks a presented token and returns what it grants.
    ///
    /// The steps: parse (shape and checksum, no lookup), look the record up by id, compute
    /// the HMAC of the secret under the key the record names, compare it in constant time,
    /// then check expiry. A success may note the last-use time and, for a record hashed
    /// under a previous key, re-hash it under the current one; failures of either are
    /// ignored, as they do not make the token less valid.
    ///
    /// # Errors
    ///
    /// [`VerifyError::Malformed`] before any lookup, [`VerifyError::Invalid`] for an
    /// unknown id or a wrong secret, [`VerifyError::Expired`] for a genuine token at or past
    /// its expiry, [`VerifyError::Store`] if the store cannot be read.
    ///
    /// # Security
    ///
    /// An unknown id is hashed and compared like a known one, against a dummy hash, so both
    /// failures cost the same and give the same error. Expiry is reported only once the
    /// secret has matched. A token is expired from its expiry instant on.
    pub fn verify(&self, presented: &str) -> Result<VerifiedToken, VerifyError> {
        let token = self.format.parse(presented)?;
        // Read before hashing, so the clock's work overlaps the HMAC's instead of waiting
        // for it; the time is used only once the secret has matched.
        let now = self.clock.now_system();
        let record = self.store.get(&token.id).map_err(VerifyError::Store)?;

        // Hash under the key the record names; without a record, or with a key this
        // manager does not hold, do the same work against a hash nothing matches.
        let known = record
            .as_deref()
            .and_then(|r| Some((self.key(r.key_id())?, r.hash())));
        let (key, expected) = known.unwrap_or((&self.current_key, &DUMMY_HASH));
        let matches = key.verify(token.secret, expected);
        let record = match record {
            Some(record) if matches => record,
            _ => return Err(VerifyError::Invalid),
        };

        if record.is_expired_at_system(now) {
            return Err(VerifyError::Expired);
        }

        self.note_use(&record, now);
        if key.id() != self.current_key.id() {
            self.rehash(record.id(), token.secret);
        }
        Ok(VerifiedToken::new(record))
    }

    /// One token's details.
    ///
    /// # Errors
    ///
    /// [`ManageError::NotFound`] for an unknown id, [`ManageError::Store`] if the store fails.
    pub fn get(&self, id: &TokenId) -> Result<TokenInfo, ManageError> {
        Ok(self.record(id)?.info())
    }

    /// Every token, or one owner's, newest first.
    ///
    /// # Errors
    ///
    /// [`ManageError::Store`] if the store fails.
    pub fn list(&self, owner: Option<&str>) -> Result<Vec<TokenInfo>, ManageError> {
        let mut tokens: Vec<TokenInfo> = self
            .store
            .list(owner)?
            .iter()
            .map(|record| record.info())
            .collect();
        tokens.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(tokens)
    }

    /// Changes a token's name, scopes or expiry.
    ///
    /// # Errors
    ///
    /// [`ManageError::NotFound`] for an unknown id, [`ManageError::Invalid`] for a value that
    /// breaks the rules (nothing is changed then), [`ManageError::Store`] if the store fails.
    pub fn update(&self, id: &TokenId, update: TokenUpdate) -> Result<TokenInfo, ManageError> {
        let name = update.name.map(|name| validate::name(&name)).transpose()?;
        let scopes = update.scopes.map(validate::scopes).transpose()?;
        let expires = match update.lifetime {
            Some(lifetime) => Some(self.expiry_from(lifetime, self.now()?)?),
            None => None,
        };

        let record = self.store.update(id, &mut |record| {
            if let Some(name) = &name {
                record.set_name(name.clone());
            }
            if let Some(scopes) = &scopes {
                record.set_scopes(scopes.clone());
            }
            if let Some(expires) = expires {
                record.set_expires(expires);
            }
        })?;
        Ok(record.info())
    }

    /// Deletes a token; it stops verifying at once.
    ///
    /// # Errors
    ///
    /// [`ManageError::NotFound`] for an unknown id, [`ManageError::Store`] if the store fails.
    pub fn delete(&self, id: &TokenId) -> Result<(), ManageError> {
        Ok(self.store.remove(id)?)
    }

    /// Mints a replacement with the same name, owner, scopes and metadata, and a lifetime
    /// as long as the old token's (or none, if it never expired).
    ///
    /// The old token keeps working for `grace` (never past its own expiry) and is deleted
    /// at once when `grace` is zero, as in "roll key" flows where clients need time to switch.
    /// The replacement is stored before the old token is retired, in separate store writes:
    /// a crash between them leaves both tokens working, never neither.
    ///
    /// # Errors
    ///
    /// As [`rotate_with_lifetime`](Self::rotate_with_lifetime).
    pub fn rotate(&self, id: &TokenId, grace: Duration) -> Result<CreatedToken, ManageError> {
        self.roll(id, grace, None)
    }

    /// As [`rotate`](Self::rotate), giving the replacement `lifetime`.
    ///
    /// # Errors
    ///
    /// [`ManageError::Invalid`] for a negative grace, a clock outside the supported range or
    /// a lifetime the rules refuse, [`ManageError::NotFound`] for an unknown id,
    /// [`ManageError::Store`] if the store fails; the old token keeps its expiry then and no
    /// replacement is kept.
    pub fn rotate_with_lifetime(
        &self,
        id: &TokenId,
        grace: Duration,
        lifetime: Lifetime,
    ) -> Result<CreatedToken, ManageError> {
        self.roll(id, grace, Some(lifetime))
    }

    /// Rotates a token; without a `lifetime`, the replacement lives as long as the old one
    /// was meant to.
    fn roll(
        &self,
        id: &TokenId,
        grace: Duration,
        lifetime: Option<Lifetime>,
    ) -> Result<CreatedToken, ManageError> {
        if grace.is_negative() {
            return Err(InvalidInput::NegativeGrace.into());
        }
        let now = self.now()?;
        let cutoff = now
            .checked_add(grace)
            .map_or(LATEST_INSTANT, |t| t.min(LATEST_INSTANT));

        // Read the old record through the store's update, which sees the freshest copy:
        // the replacement then copies the name, owner, scopes and metadata as they are now,
        // even if another process changed them a moment ago.
        let mut expires = Expiry::Never;
        let old = self
            .store
            .update(id, &mut |record| expires = record.expires())?;
        let lifetime = lifetime.unwrap_or(match expires {
            Expiry::Never => Lifetime::Never,
            Expiry::At(at) => Lifetime::For(at - old.created_at()),
        });

        let mut request = NewToken::new(old.name(), lifetime);
        request.owner = old.owner().map(str::to_owned);
        request.scopes = old.scopes().to_vec();
        request.metadata = old.metadata().clone();
        let created = self.create(request)?;

        let retired = if grace.is_zero() {
            self.store.remove(id)
        } else {
            let cutoff = Expiry::At(cutoff);
            let shorten = &mut |record: &mut TokenRecord| {
                record.set_expires(record.expires().min(cutoff));
            };
            self.store.update(id, shorten).map(drop)
        };
        match retired {
            // Deleted meanwhile: retired all the same.
            Ok(()) | Err(StoreError::NotFound(_)) => Ok(created),
            Err(error) => {
                // Keep the store as it was: a replacement nobody received is only clutter.
                let _ = self.store.remove(&created.info.id);
                Err(error.into())
            }
        }
    }

    /// Tokens still valid now that expire within `window`, soonest first: the ones to send
    /// a reminder about. Tokens that never expire are not included.
    ///
    /// # Errors
    ///
    /// [`ManageError::Invalid`] if the clock reads an unsupported instant,
    /// [`ManageError::Store`] if the store fails.
    pub fn expiring_within(&self, window: Duration) -> Result<Vec<TokenInfo>, ManageError> {
        let now = self.now()?;
        let deadline = now
            .checked_add(window)
            .map_or(LATEST_INSTANT, |d| d.min(LATEST_INSTANT));
        let mut tokens: Vec<TokenInfo> = self
            .store
            .expiring_between(now, deadline)?
            .iter()
            .map(|record| record.info())
            .collect();
        tokens.sort_by(|a, b| {
            a.expires
                .instant()
                .cmp(&b.expires.instant())
                .then(a.id.cmp(&b.id))
        });
        Ok(tokens)
    }

    /// Deletes every expired token and returns their ids.
    ///
    /// # Errors
    ///
    /// [`ManageError::Invalid`] if the clock reads an unsupported instant,
    /// [`ManageError::Store`] if the store fails.
    pub fn purge_expired(&self) -> Result<Vec<TokenId>, ManageError> {
        Ok(self.store.purge_expired(self.now()?)?)
    }

    fn record(&self, id: &TokenId) -> Result<Arc<TokenRecord>, ManageError> {
        self.store.get(id)?.ok_or(ManageError::NotFound(*id))
    }

    fn key(&self, id: KeyId) -> Option<&HashingKey> {
        if self.current_key.id() == id {
            return Some(&self.current_key);
        }
        self.previous_keys.iter().find(|key| key.id() == id)
    }

    /// The clock's time, if a record can hold it.
    fn now(&self) -> Result<OffsetDateTime, InvalidInput> {
        self.clock
            .now()
            .checked_to_offset(UtcOffset::UTC)
            .filter(|now| (EARLIEST_INSTANT..=LATEST_INSTANT).contains(now))
            .ok_or(InvalidInput::ClockOutOfRange)
    }

    /// Turns a requested lifetime into an expiry, refusing what the rules forbid.
    fn expiry_from(&self, lifetime: Lifetime, now: OffsetDateTime) -> Result<Expiry, InvalidInput> {
        let at = match lifetime {
            Lifetime::Never if self.max_lifetime.is_some() => {
                return Err(InvalidInput::ExpiryBeyondMaxLifetime);
            }
            Lifetime::Never => return Ok(Expiry::Never),
            Lifetime::For(duration) if !duration.is_positive() => {
                return Err(InvalidInput::ExpiryNotInFuture);
            }
            Lifetime::For(duration) => now
                .checked_add(duration)
                .ok_or(InvalidInput::ExpiryOutOfRange)?,
            Lifetime::Until(at) => at
                .checked_to_offset(UtcOffset::UTC)
                .ok_or(InvalidInput::ExpiryOutOfRange)?,
        };

        if at <= now {
            return Err(InvalidInput::ExpiryNotInFuture);
        }
        if at > LATEST_INSTANT {
            return Err(InvalidInput::ExpiryOutOfRange);
        }
        if let Some(max) = self.max_lifetime
            && now.checked_add(max).is_some_and(|latest| at > latest)
        {
            return Err(InvalidInput::ExpiryBeyondMaxLifetime);
        }
        Ok(Expiry::At(at))
    }

    /// Writes the last-use time once the stored one is at least the resolution old. A
    /// last-use time only moves forward: after the clock steps back, nothing is written until
    /// it passes the stored time again, so verifies never turn into writes one after another.
    fn note_use(&self, record: &TokenRecord, now: SystemTime) {
        let due = record.last_used_system().is_none_or(|last| {
            last.checked_add(self.last_used_resolution)
                .is_some_and(|next| now >= next)
        });
        if !due {
            return;
        }
        if let Ok(now) = self.now() {
            let _ = self.store.record_use(record.id(), now);
        }
    }

    /// Stores the hash of a verified secret under the current key, on the store's freshest
    /// record, so that a change made meanwhile is kept.
    fn rehash(&self, id: &TokenId, secret: SecretText<'_>) {
        let current = self.current_key.id();
        let hash = self.current_key.hash(secret);
        let _ = self.store.update(id, &mut |record| {
            if record.key_id() != current {
                record.set_hash(current, hash.clone());
            }
        });
    }
}

impl<S: fmt::Debug> fmt::Debug for TokenManager<S> {
    // Key ids only: they name the keys without revealing them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let previous: Vec<KeyId> = self.previous_keys.iter().map(HashingKey::id).collect();
        f.debug_struct("TokenManager")
            .field("prefix", self.format.prefix())
            .field("current_key", &self.current_key.id())
            .field("previous_keys", &previous)
            .field("store", &self.store)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl<S: fmt::Debug> fmt::Debug for TokenManagerBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManagerBuilder")
            .field("prefix", &self.prefix)
            .field("current_key", &self.current_key.id())
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}
