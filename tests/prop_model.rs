//! A model test: random sequences of operations run at once against a plain reference model
//! and against a real store behind a `TokenManager`; every verdict, every returned value and
//! every listing must agree.
//!
//! The driver, [`check_against_model`], takes the store as a parameter: a function that opens
//! it, called again after each close when the store keeps its records across a reopen. Each
//! generated scenario is run against the `MemoryStore`, and some against the `FileStore` as
//! well, closed and reopened where the scenario says; both must agree with the model, and so
//! with each other.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use api_tokens::{
    EARLIEST_INSTANT, Expiry, FileStore, HashingKey, InvalidInput, LATEST_INSTANT, Lifetime,
    ManageError, ManualClock, MemoryStore, NewToken, TokenId, TokenInfo, TokenManager, TokenStore,
    TokenUpdate, VerifyError,
};
use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime, UtcOffset};

use support::{forge, split};

const PREFIX: &str = "acme";

/// An id the manager is never expected to mint.
const UNKNOWN_ID: &str = "00000000000000000";

// ---------------------------------------------------------------------------------------
// What the caller may offer, and what the rules make of it. Each pool pairs an input with
// the outcome the crate documents for it, so the model never runs the crate's validation.
// ---------------------------------------------------------------------------------------

// Each pool lists its accepted inputs first; these counts say how many there are, so that
// the generators can pick mostly accepted ones and still try every refusal.
const VALID_NAMES: usize = 3;
const VALID_OWNERS: usize = 3;
const VALID_SCOPE_SETS: usize = 4;
const VALID_METADATA_SETS: usize = 2;

/// Inputs of one kind, each with the outcome the rules give it.
type Pool<T, R> = Vec<(T, Result<R, InvalidInput>)>;

fn names() -> Pool<String, String> {
    vec![
        ("deploy".into(), Ok("deploy".into())),
        ("  CI token \t".into(), Ok("CI token".into())),
        ("é".repeat(100), Ok("é".repeat(100))),
        ("x".repeat(101), Err(InvalidInput::NameLength)),
        (" \u{3000} ".into(), Err(InvalidInput::NameLength)),
        ("a\u{0}b".into(), Err(InvalidInput::NameCharacters)),
        (
            "left\u{202E}right".into(),
            Err(InvalidInput::NameCharacters),
        ),
    ]
}

fn owners() -> Pool<Option<String>, ()> {
    vec![
        (None, Ok(())),
        (Some("alice".into()), Ok(())),
        (Some("team/infra".into()), Ok(())),
        (Some(" alice".into()), Err(InvalidInput::Owner)),
        (Some(String::new()), Err(InvalidInput::Owner)),
    ]
}

fn scope_sets() -> Pool<Vec<String>, Vec<String>> {
    let many: Vec<String> = (0..65).map(|i| format!("s{i}")).collect();
    vec![
        (vec![], Ok(vec![])),
        (vec!["repo:read".into()], Ok(vec!["repo:read".into()])),
        (
            vec!["b:write".into(), "a:read".into(), "b:write".into()],
            Ok(vec!["a:read".into(), "b:write".into()]),
        ),
        (vec!["*".into()], Ok(vec!["*".into()])),
        (vec!["has space".into()], Err(InvalidInput::Scope)),
        (many, Err(InvalidInput::TooManyScopes)),
    ]
}

fn metadata_sets() -> Pool<BTreeMap<String, String>, ()> {
    let entry = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
    vec![
        (BTreeMap::new(), Ok(())),
        (entry("created-by", "alice"), Ok(())),
        (entry("bad key", "v"), Err(InvalidInput::Metadata)),
        (entry("k", "line\nbreak"), Err(InvalidInput::Metadata)),
    ]
}

// ---------------------------------------------------------------------------------------
// Operations.
// ---------------------------------------------------------------------------------------

/// A lifetime, described relative to the clock when the operation runs.
#[derive(Clone, Debug)]
enum LifetimeSpec {
    Never,
    For(Duration),
    /// `now + offset`, written in the given UTC offset.
    Until(Duration, UtcOffset),
    UntilLatest,
    UntilEarliest,
}

impl LifetimeSpec {
    fn at(&self, now: OffsetDateTime) -> Lifetime {
        match self {
            Self::Never => Lifetime::Never,
            Self::For(duration) => Lifetime::For(*duration),
            Self::Until(offset, zone) => Lifetime::Until((now + *offset).to_offset(*zone)),
            Self::UntilLatest => Lifetime::Until(LATEST_INSTANT),
            Self::UntilEarliest => Lifetime::Until(EARLIEST_INSTANT),
        }
    }
}

/// Which token an operation is about.
#[derive(Clone, Debug)]
enum Target {
    /// One of the tokens issued so far, live or not.
    Issued(usize),
    /// An id that was never issued.
    Unknown,
}

/// How a token is presented to `verify`.
#[derive(Clone, Debug)]
enum Presentation {
    /// Exactly as issued.
    Exact,
    /// With its secret replaced and the checksum made to fit.
    WrongSecret(String),
    /// With one character changed.
    Mangled(usize, u8),
}

#[derive(Clone, Debug)]
enum Op {
    Create {
        name: usize,
        owner: usize,
        scopes: usize,
        metadata: usize,
        lifetime: LifetimeSpec,
    },
    Verify(Target, Presentation),
    Get(Target),
    Update {
        target: Target,
        name: Option<usize>,
        scopes: Option<usize>,
        lifetime: Option<LifetimeSpec>,
    },
    Rotate {
        target: Target,
        grace: Duration,
        lifetime: Option<LifetimeSpec>,
    },
    Delete(Target),
    Purge,
    List(Option<usize>),
    Advance(Duration),
    StepBack(Duration),
    /// Sets the clock to a moment that matters to a token, give or take a nanosecond.
    Jump(Target, Moment, i8),
    /// Shows the same instant in another UTC offset.
    Zone(UtcOffset),
    /// Rebuilds the manager with a new current key, keeping the last one as previous.
    NewKey,
    /// Rebuilds the manager with the current key only.
    DropOldKeys,
    /// Closes the store and opens it again, where the store keeps records across that.
    Reopen,
}

/// A moment that matters to a token.
#[derive(Clone, Copy, Debug)]
enum Moment {
    /// Its expiry.
    Expiry,
    /// When its last-use time is next due to be written.
    LastUseDue,
}

/// A whole run: the manager's settings and the operations.
#[derive(Clone, Debug)]
struct Scenario {
    start: OffsetDateTime,
    max_lifetime: Option<Duration>,
    resolution: Duration,
    ops: Vec<Op>,
}

fn short_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (1..1_000_000_000i64).prop_map(Duration::nanoseconds),
        (1..7_200i64).prop_map(Duration::seconds),
        (1..240i64).prop_map(Duration::hours),
        (0..40i64, 0..1_000_000_000i64)
            .prop_map(|(d, n)| Duration::days(d) + Duration::nanoseconds(n)),
    ]
}

fn lifetime() -> impl Strategy<Value = LifetimeSpec> {
    let zone = (-12..=14i8).prop_map(|h| UtcOffset::from_hms(h, 0, 0).expect("valid offset"));
    prop_oneof![
        4 => Just(LifetimeSpec::Never),
        8 => short_duration().prop_map(LifetimeSpec::For),
        1 => Just(LifetimeSpec::For(Duration::ZERO)),
        1 => short_duration().prop_map(|d| LifetimeSpec::For(-d)),
        1 => Just(LifetimeSpec::For(Duration::MAX)),
        4 => (short_duration(), zone.clone()).prop_map(|(d, z)| LifetimeSpec::Until(d, z)),
        1 => (short_duration(), zone).prop_map(|(d, z)| LifetimeSpec::Until(-d, z)),
        1 => Just(LifetimeSpec::UntilLatest),
        1 => Just(LifetimeSpec::UntilEarliest),
    ]
}

/// Mostly one of the first `valid` entries of a pool, sometimes any entry.
fn choice(valid: usize) -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0..valid, 1 => any::<usize>()]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![9 => any::<usize>().prop_map(Target::Issued), 1 => Just(Target::Unknown)]
}

fn presentation() -> impl Strategy<Value = Presentation> {
    prop_oneof![
        6 => Just(Presentation::Exact),
        1 => "[0-9A-Za-z]{43}".prop_map(Presentation::WrongSecret),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Presentation::Mangled(at, b)),
    ]
}

/// Any operation; `reopen` weighs how often the store is closed and opened again.
fn op(reopen: u32) -> impl Strategy<Value = Op> {
    let create = (
        choice(VALID_NAMES),
        choice(VALID_OWNERS),
        choice(VALID_SCOPE_SETS),
        choice(VALID_METADATA_SETS),
        lifetime(),
    )
        .prop_map(|(name, owner, scopes, metadata, lifetime)| Op::Create {
            name,
            owner,
            scopes,
            metadata,
            lifetime,
        });
    let update = (
        target(),
        proptest::option::of(choice(VALID_NAMES)),
        proptest::option::of(choice(VALID_SCOPE_SETS)),
        proptest::option::of(lifetime()),
    )
        .prop_map(|(target, name, scopes, lifetime)| Op::Update {
            target,
            name,
            scopes,
            lifetime,
        });
    let grace = prop_oneof![
        2 => Just(Duration::ZERO),
        3 => short_duration(),
        1 => Just(Duration::MAX),
        1 => short_duration().prop_map(|d| -d),
    ];
    let rotate = (target(), grace, proptest::option::weighted(0.3, lifetime())).prop_map(
        |(target, grace, lifetime)| Op::Rotate {
            target,
            grace,
            lifetime,
        },
    );
    prop_oneof![
        4 => create,
        6 => (target(), presentation()).prop_map(|(t, p)| Op::Verify(t, p)),
        1 => target().prop_map(Op::Get),
        2 => update,
        2 => rotate,
        1 => target().prop_map(Op::Delete),
        1 => Just(Op::Purge),
        1 => proptest::option::of(choice(VALID_OWNERS)).prop_map(Op::List),
        3 => short_duration().prop_map(Op::Advance),
        1 => short_duration().prop_map(Op::StepBack),
        2 => (
            target(),
            prop_oneof![Just(Moment::Expiry), Just(Moment::LastUseDue)],
            -1..=1i8,
        )
            .prop_map(|(t, m, d)| Op::Jump(t, m, d)),
        1 => (-45..=56i32).prop_map(|q| Op::Zone(UtcOffset::from_whole_seconds(q * 900).unwrap())),
        1 => Just(Op::NewKey),
        1 => Just(Op::DropOldKeys),
        reopen => Just(Op::Reopen),
    ]
}

/// A whole run, with `Reopen` weighed as [`op`] says.
fn scenario(reopen: u32) -> impl Strategy<Value = Scenario> {
    // Start anywhere from 1900 to 2100, at nanosecond precision.
    let start = (-2_208_988_800..4_102_444_800i64, 0..1_000_000_000i64).prop_map(|(s, n)| {
        OffsetDateTime::from_unix_timestamp(s).unwrap() + Duration::nanoseconds(n)
    });
    let max_lifetime = proptest::option::weighted(0.3, Just(Duration::days(30)));
    let resolution = prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::minutes(1)),
        Just(Duration::hours(1)),
    ];
    (
        start,
        max_lifetime,
        resolution,
        proptest::collection::vec(op(reopen), 1..60),
    )
        .prop_map(|(start, max_lifetime, resolution, ops)| Scenario {
            start,
            max_lifetime,
            resolution,
            ops,
        })
}

// ---------------------------------------------------------------------------------------
// The reference model.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
struct ModelRecord {
    name: String,
    owner: Option<String>,
    scopes: Vec<String>,
    metadata: BTreeMap<String, String>,
    created_at: OffsetDateTime,
    expires: Expiry,
    last_used_at: Option<OffsetDateTime>,
    /// The generation of the hashing key the record's hash was made with.
    key: u8,
}

/// What the model expects `verify` to answer.
#[derive(Debug, PartialEq)]
enum Verdict {
    Valid(TokenId),
    Malformed,
    Invalid,
    Expired,
}

/// What the model expects a management call to fail with.
#[derive(Debug, PartialEq)]
enum Refusal {
    Invalid(InvalidInput),
    NotFound(TokenId),
}

fn refusal(error: ManageError) -> Refusal {
    match error {
        ManageError::Invalid(input) => Refusal::Invalid(input),
        ManageError::NotFound(id) => Refusal::NotFound(id),
        other => panic!("unexpected error {other:?}"),
    }
}

/// Whether a store keeps its records when it is closed and opened again.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// Forgets its records when closed; `Reopen` does nothing.
    Memory,
    /// Keeps its records across a close and a reopen.
    File,
}

#[derive(Debug)]
struct Model {
    now: OffsetDateTime,
    max_lifetime: Option<Duration>,
    resolution: Duration,
    records: BTreeMap<TokenId, ModelRecord>,
    /// Every token text issued, with its id, live or not.
    issued: Vec<(TokenId, String)>,
    current_key: u8,
    held_keys: Vec<u8>,
}

impl Model {
    fn new(scenario: &Scenario) -> Self {
        Self {
            now: scenario.start,
            max_lifetime: scenario.max_lifetime,
            resolution: scenario.resolution,
            records: BTreeMap::new(),
            issued: Vec::new(),
            current_key: 0,
            held_keys: vec![0],
        }
    }

    /// The documented rules for turning a lifetime into an expiry.
    fn expiry_from(&self, lifetime: Lifetime) -> Result<Expiry, InvalidInput> {
        let at = match lifetime {
            Lifetime::Never if self.max_lifetime.is_some() => {
                return Err(InvalidInput::ExpiryBeyondMaxLifetime);
            }
            Lifetime::Never => return Ok(Expiry::Never),
            Lifetime::For(d) if d <= Duration::ZERO => return Err(InvalidInput::ExpiryNotInFuture),
            Lifetime::For(d) => self
                .now
                .checked_add(d)
                .ok_or(InvalidInput::ExpiryOutOfRange)?,
            Lifetime::Until(at) => at.to_offset(UtcOffset::UTC),
        };
        if at <= self.now {
            return Err(InvalidInput::ExpiryNotInFuture);
        }
        if at > LATEST_INSTANT {
            return Err(InvalidInput::ExpiryOutOfRange);
        }
        if let Some(max) = self.max_lifetime
            && self.now.checked_add(max).is_some_and(|latest| at > latest)
        {
            return Err(InvalidInput::ExpiryBeyondMaxLifetime);
        }
        Ok(Expiry::At(at))
    }

    fn is_expired(&self, record: &ModelRecord) -> bool {
        record.expires.instant().is_some_and(|at| at <= self.now)
    }

    fn verify(&mut self, id: TokenId, genuine: bool) -> Verdict {
        let now = self.now;
        let (current, resolution) = (self.current_key, self.resolution);
        let held = self.held_keys.clone();
        let expired = match self.records.get(&id) {
            Some(record) if genuine && held.contains(&record.key) => self.is_expired(record),
            _ => return Verdict::Invalid,
        };
        if expired {
            return Verdict::Expired;
        }

        let record = self.records.get_mut(&id).expect("checked above");
        let stale = record
            .last_used_at
            .is_none_or(|last| now - last >= resolution);
        if stale {
            record.last_used_at = Some(now);
        }
        record.key = current;
        Verdict::Valid(id)
    }

    /// The listing the manager should give: newest first, then by id.
    fn list(&self, owner: Option<&str>) -> Vec<(TokenId, ModelRecord)> {
        let mut listed: Vec<(TokenId, ModelRecord)> = self
            .records
            .iter()
            .filter(|(_, r)| owner.is_none_or(|o| r.owner.as_deref() == Some(o)))
            .map(|(id, r)| (*id, r.clone()))
            .collect();
        listed.sort_by(|a, b| b.1.created_at.cmp(&a.1.created_at).then(a.0.cmp(&b.0)));
        listed
    }

    fn new_record(&self, template: &ModelRecord, expires: Expiry) -> ModelRecord {
        ModelRecord {
            created_at: self.now,
            expires,
            last_used_at: None,
            key: self.current_key,
            ..template.clone()
        }
    }
}

// ---------------------------------------------------------------------------------------
// The driver.
// ---------------------------------------------------------------------------------------

fn key_for(generation: u8) -> HashingKey {
    HashingKey::new(&[generation.wrapping_add(1); 32]).expect("32 bytes make a valid key")
}

fn build<S: TokenStore + 'static>(
    store: &Arc<S>,
    model: &Model,
    clock: &ManualClock,
) -> TokenManager<Arc<S>> {
    let mut builder = TokenManager::builder(Arc::clone(store), key_for(model.current_key), PREFIX)
        .clock(clock.clone())
        .last_used_resolution(model.resolution);
    for &generation in &model.held_keys {
        if generation != model.current_key {
            builder = builder.previous_key(key_for(generation));
        }
    }
    if let Some(max) = model.max_lifetime {
        builder = builder.max_lifetime(max);
    }
    builder.build().expect("the configuration is valid")
}

/// Checks that `info` is what the model holds for `id`.
fn assert_info(info: &TokenInfo, id: TokenId, record: &ModelRecord) {
    assert_eq!(info.id, id);
    assert_eq!(info.name, record.name);
    assert_eq!(info.owner, record.owner);
    assert_eq!(info.scopes, record.scopes);
    assert_eq!(info.metadata, record.metadata);
    assert_eq!(info.created_at, record.created_at);
    assert_eq!(info.expires, record.expires);
    assert_eq!(info.last_used_at, record.last_used_at);
    // Whatever offset the clock shows, stored times are in UTC.
    assert_eq!(info.created_at.offset(), UtcOffset::UTC);
    if let Expiry::At(at) = info.expires {
        assert_eq!(at.offset(), UtcOffset::UTC);
    }
    if let Some(at) = info.last_used_at {
        assert_eq!(at.offset(), UtcOffset::UTC);
    }
}

fn assert_listing<S: TokenStore>(manager: &TokenManager<S>, model: &Model, owner: Option<&str>) {
    let listed = manager.list(owner).expect("listing succeeds");
    let expected = model.list(owner);
    assert_eq!(listed.len(), expected.len(), "listing for {owner:?}");
    for (info, (id, record)) in listed.iter().zip(&expected) {
        assert_info(info, *id, record);
    }
}

/// One of `len` items, chosen by a generated number.
fn pick(choice: &usize, len: usize) -> usize {
    choice % len
}

/// The id an operation is about, and the issued text for it if there is one.
fn resolve(model: &Model, target: &Target) -> (TokenId, Option<String>) {
    match target {
        Target::Issued(index) if !model.issued.is_empty() => {
            let (id, text) = &model.issued[pick(index, model.issued.len())];
            (*id, Some(text.clone()))
        }
        _ => (UNKNOWN_ID.parse().expect("a valid id"), None),
    }
}

/// Runs `scenario` against the model and against the store `open` returns.
///
/// `open` is called once at the start. For a [`Kind::File`] store, each `Reopen` operation
/// drops the manager and the store (which writes pending last-use times) and calls `open`
/// again, and the store must then hold what it held before, last-use times included; for a
/// [`Kind::Memory`] store, `Reopen` does nothing.
fn check_against_model<S, F>(mut open: F, kind: Kind, scenario: &Scenario)
where
    S: TokenStore + 'static,
    F: FnMut() -> S,
{
    let clock = ManualClock::new(scenario.start);
    let mut model = Model::new(scenario);
    let mut store = Arc::new(open());
    let mut manager = build(&store, &model, &clock);
    let names = names();
    let owners = owners();
    let scope_sets = scope_sets();
    let metadata_sets = metadata_sets();

    for op in &scenario.ops {
        match op {
            Op::Create {
                name,
                owner,
                scopes,
                metadata,
                lifetime,
            } => {
                let (name_in, name_out) = &names[pick(name, names.len())];
                let (owner_in, owner_ok) = &owners[pick(owner, owners.len())];
                let (scopes_in, scopes_out) = &scope_sets[pick(scopes, scope_sets.len())];
                let (metadata_in, metadata_ok) =
                    &metadata_sets[pick(metadata, metadata_sets.len())];
                let lifetime = lifetime.at(model.now);

                let mut request =
                    NewToken::new(name_in.clone(), lifetime).scopes(scopes_in.clone());
                for (key, value) in metadata_in {
                    request = request.metadata(key.clone(), value.clone());
                }
                if let Some(owner) = owner_in {
                    request = request.owner(owner.clone());
                }
                let expected = name_out.clone().and_then(|name| {
                    (*owner_ok)?;
                    let scopes = scopes_out.clone()?;
                    (*metadata_ok)?;
                    let expires = model.expiry_from(lifetime)?;
                    Ok(ModelRecord {
                        name,
                        owner: owner_in.clone(),
                        scopes,
                        metadata: metadata_in.clone(),
                        created_at: model.now,
                        expires,
                        last_used_at: None,
                        key: model.current_key,
                    })
                });

                match (manager.create(request), expected) {
                    (Ok(created), Ok(record)) => {
                        let id = created.info().id;
                        assert_info(created.info(), id, &record);
                        assert!(!model.issued.iter().any(|(old, _)| *old == id));
                        let text = created.token().expose_secret().to_owned();
                        model.issued.push((id, text));
                        model.records.insert(id, record);
                    }
                    (Err(error), Err(input)) => {
                        assert_eq!(refusal(error), Refusal::Invalid(input));
                    }
                    (got, expected) => panic!("create: got {got:?}, expected {expected:?}"),
                }
            }

            Op::Verify(target, presentation) => {
                let (id, text) = resolve(&model, target);
                let text = text.unwrap_or_else(|| forge(PREFIX, UNKNOWN_ID, &"s".repeat(43)));
                let (presented, expected) = match presentation {
                    Presentation::Exact => (text.clone(), model.verify(id, true)),
                    Presentation::WrongSecret(secret) => {
                        let (prefix, id_text, _) = split(&text);
                        (forge(prefix, id_text, secret), model.verify(id, false))
                    }
                    Presentation::Mangled(at, byte) => {
                        let mut bytes = text.clone().into_bytes();
                        let at = pick(at, bytes.len());
                        // Any other byte: flipping the lowest bit always changes it.
                        bytes[at] = if bytes[at] == *byte { byte ^ 1 } else { *byte };
                        let mangled = String::from_utf8_lossy(&bytes).into_owned();
                        (mangled, Verdict::Malformed)
                    }
                };
                let got = match manager.verify(&presented) {
                    Ok(verified) => {
                        let record = &model.records[verified.id()];
                        assert_eq!(verified.name(), record.name);
                        assert_eq!(verified.owner(), record.owner.as_deref());
                        assert_eq!(verified.scopes(), record.scopes);
                        assert_eq!(verified.metadata(), &record.metadata);
                        assert_eq!(verified.expires(), record.expires);
                        Verdict::Valid(*verified.id())
                    }
                    Err(VerifyError::Malformed(_)) => Verdict::Malformed,
                    Err(VerifyError::Invalid) => Verdict::Invalid,
                    Err(VerifyError::Expired) => Verdict::Expired,
                    Err(other) => panic!("unexpected verify error {other:?}"),
                };
                assert_eq!(got, expected, "verify {presentation:?}");
            }

            Op::Get(target) => {
                let (id, _) = resolve(&model, target);
                match (manager.get(&id), model.records.get(&id)) {
                    (Ok(info), Some(record)) => assert_info(&info, id, record),
                    (Err(error), None) => assert_eq!(refusal(error), Refusal::NotFound(id)),
                    (got, expected) => panic!("get: got {got:?}, expected {expected:?}"),
                }
            }

            Op::Update {
                target,
                name,
                scopes,
                lifetime,
            } => {
                let (id, _) = resolve(&model, target);
                let name = name.map(|i| names[pick(&i, names.len())].clone());
                let scopes = scopes.map(|i| scope_sets[pick(&i, scope_sets.len())].clone());
                let lifetime = lifetime.as_ref().map(|l| l.at(model.now));

                let mut update = TokenUpdate::new();
                if let Some((input, _)) = &name {
                    update = update.name(input.clone());
                }
                if let Some((input, _)) = &scopes {
                    update = update.scopes(input.clone());
                }
                if let Some(lifetime) = lifetime {
                    update = update.expires(lifetime);
                }

                // The new values are checked first, then the id is looked up.
                let expected = (|| {
                    let mut changed = model.records.get(&id).cloned();
                    let name = name.map(|(_, result)| result).transpose();
                    let scopes = scopes.map(|(_, result)| result).transpose();
                    let name = name.map_err(Refusal::Invalid)?;
                    let scopes = scopes.map_err(Refusal::Invalid)?;
                    let expires = lifetime.map(|l| model.expiry_from(l)).transpose();
                    let expires = expires.map_err(Refusal::Invalid)?;
                    let record = changed.as_mut().ok_or(Refusal::NotFound(id))?;
                    if let Some(name) = name {
                        record.name = name;
                    }
                    if let Some(scopes) = scopes {
                        record.scopes = scopes;
                    }
                    if let Some(expires) = expires {
                        record.expires = expires;
                    }
                    Ok(record.clone())
                })();

                match (manager.update(&id, update), expected) {
                    (Ok(info), Ok(record)) => {
                        assert_info(&info, id, &record);
                        model.records.insert(id, record);
                    }
                    (Err(error), Err(refused)) => assert_eq!(refusal(error), refused),
                    (got, expected) => panic!("update: got {got:?}, expected {expected:?}"),
                }
            }

            Op::Rotate {
                target,
                grace,
                lifetime,
            } => {
                let (id, _) = resolve(&model, target);
                let lifetime = lifetime.as_ref().map(|l| l.at(model.now));
                let got = match lifetime {
                    Some(lifetime) => manager.rotate_with_lifetime(&id, *grace, lifetime),
                    None => manager.rotate(&id, *grace),
                };

                // The grace period is checked first, then the id is looked up.
                let expected = (|| {
                    let found = model.records.get(&id);
                    if grace.is_negative() {
                        return Err(Refusal::Invalid(InvalidInput::NegativeGrace));
                    }
                    let old = found.ok_or(Refusal::NotFound(id))?;
                    let lifetime = lifetime.unwrap_or(match old.expires {
                        Expiry::Never => Lifetime::Never,
                        Expiry::At(at) => Lifetime::For(at - old.created_at),
                    });
                    let expires = model.expiry_from(lifetime).map_err(Refusal::Invalid)?;
                    Ok(model.new_record(old, expires))
                })();

                match (got, expected) {
                    (Ok(created), Ok(record)) => {
                        let new_id = created.info().id;
                        assert_info(created.info(), new_id, &record);
                        let text = created.token().expose_secret().to_owned();
                        model.issued.push((new_id, text));
                        model.records.insert(new_id, record);
                        if grace.is_zero() {
                            model.records.remove(&id);
                        } else {
                            let cutoff = model
                                .now
                                .checked_add(*grace)
                                .map_or(LATEST_INSTANT, |at| at.min(LATEST_INSTANT));
                            let old = model.records.get_mut(&id).expect("rotated token");
                            if old.expires.instant().is_none_or(|at| at > cutoff) {
                                old.expires = Expiry::At(cutoff);
                            }
                        }
                    }
                    (Err(error), Err(refused)) => assert_eq!(refusal(error), refused),
                    (got, expected) => panic!("rotate: got {got:?}, expected {expected:?}"),
                }
            }

            Op::Delete(target) => {
                let (id, _) = resolve(&model, target);
                match (manager.delete(&id), model.records.remove(&id)) {
                    (Ok(()), Some(_)) => {}
                    (Err(error), None) => assert_eq!(refusal(error), Refusal::NotFound(id)),
                    (got, expected) => panic!("delete: got {got:?}, expected {expected:?}"),
                }
            }

            Op::Purge => {
                let mut purged = manager.purge_expired().expect("purge succeeds");
                purged.sort();
                let expired: Vec<TokenId> = model
                    .records
                    .iter()
                    .filter(|(_, r)| model.is_expired(r))
                    .map(|(id, _)| *id)
                    .collect();
                for id in &expired {
                    model.records.remove(id);
                }
                assert_eq!(purged, expired);
            }

            Op::List(owner) => {
                let owner = owner.and_then(|i| owners[pick(&i, owners.len())].0.clone());
                assert_listing(&manager, &model, owner.as_deref());
            }

            Op::Advance(step) => {
                model.now += *step;
                clock.advance(*step);
            }

            Op::StepBack(step) => {
                model.now -= *step;
                clock.advance(-*step);
            }

            Op::Jump(target, moment, nanos) => {
                let (id, _) = resolve(&model, target);
                let record = model.records.get(&id);
                let at = match moment {
                    Moment::Expiry => record.and_then(|r| r.expires.instant()),
                    Moment::LastUseDue => record
                        .and_then(|r| r.last_used_at)
                        .map(|at| at + model.resolution),
                };
                // Only to moments that leave room for the operations still to come.
                if let Some(at) = at.filter(|at| at.year() < 2200) {
                    model.now = at + Duration::nanoseconds((*nanos).into());
                    clock.set(model.now);
                }
            }

            Op::Zone(offset) => clock.set(model.now.to_offset(*offset)),

            Op::NewKey => {
                model.current_key += 1;
                model.held_keys = vec![model.current_key - 1, model.current_key];
                manager = build(&store, &model, &clock);
            }

            Op::DropOldKeys => {
                model.held_keys = vec![model.current_key];
                manager = build(&store, &model, &clock);
            }

            Op::Reopen if kind == Kind::File => {
                drop(manager);
                drop(store);
                store = Arc::new(open());
                manager = build(&store, &model, &clock);
            }

            Op::Reopen => {}
        }

        // After every step, the whole listing agrees with the model.
        assert_listing(&manager, &model, None);
    }
}

/// Runs `scenario` against a `FileStore` in a new temporary file, reopening it at each
/// `Reopen`.
fn check_file_store(scenario: &Scenario) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("model.store");
    let open = || FileStore::open(&path).expect("the store opens");
    check_against_model(open, Kind::File, scenario);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn memory_store_agrees_with_the_model(scenario in scenario(1)) {
        check_against_model(MemoryStore::new, Kind::Memory, &scenario);
    }
}

proptest! {
    // Fewer cases: every change to a file store is synced to disk.
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn memory_and_file_stores_agree_with_the_model(scenario in scenario(3)) {
        check_against_model(MemoryStore::new, Kind::Memory, &scenario);
        check_file_store(&scenario);
    }
}

/// A fixed scenario that passes through every kind of operation, so that a change in the
/// generators cannot quietly stop covering one.
#[test]
fn a_fixed_scenario_covers_every_operation() {
    let scenario = Scenario {
        start: datetime!(1969-12-31 23:59:59.5 UTC),
        max_lifetime: None,
        resolution: Duration::minutes(1),
        ops: vec![
            Op::Create {
                name: 0,
                owner: 1,
                scopes: 2,
                metadata: 1,
                lifetime: LifetimeSpec::For(Duration::days(2)),
            },
            Op::Verify(Target::Issued(0), Presentation::Exact),
            Op::Advance(Duration::seconds(30)),
            Op::Verify(Target::Issued(0), Presentation::Exact),
            Op::Verify(Target::Issued(0), Presentation::WrongSecret("x".repeat(43))),
            Op::Verify(Target::Issued(0), Presentation::Mangled(5, b'!')),
            Op::Verify(Target::Unknown, Presentation::Exact),
            Op::Update {
                target: Target::Issued(0),
                name: Some(1),
                scopes: None,
                lifetime: Some(LifetimeSpec::For(Duration::days(1))),
            },
            Op::Rotate {
                target: Target::Issued(0),
                grace: Duration::hours(1),
                lifetime: None,
            },
            Op::NewKey,
            Op::Verify(Target::Issued(0), Presentation::Exact),
            Op::DropOldKeys,
            Op::Verify(Target::Issued(1), Presentation::Exact),
            Op::Zone(UtcOffset::from_hms(14, 0, 0).unwrap()),
            Op::Advance(Duration::hours(2)),
            Op::Verify(Target::Issued(0), Presentation::Exact),
            Op::StepBack(Duration::hours(3)),
            Op::Verify(Target::Issued(0), Presentation::Exact),
            Op::Get(Target::Issued(0)),
            Op::List(Some(1)),
            Op::Reopen,
            Op::Jump(Target::Issued(1), Moment::LastUseDue, 0),
            Op::Verify(Target::Issued(1), Presentation::Exact),
            Op::Jump(Target::Issued(1), Moment::Expiry, -1),
            Op::Verify(Target::Issued(1), Presentation::Exact),
            Op::Jump(Target::Issued(1), Moment::Expiry, 0),
            Op::Verify(Target::Issued(1), Presentation::Exact),
            Op::Advance(Duration::days(3)),
            Op::Purge,
            Op::Delete(Target::Issued(1)),
            Op::Get(Target::Issued(1)),
        ],
    };
    check_against_model(MemoryStore::new, Kind::Memory, &scenario);
    check_file_store(&scenario);
}
