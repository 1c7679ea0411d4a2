//! Expiry: the boundary instant, tokens that never expire, and lifetimes that are refused.

mod common;

use api_tokens::{
    Expiry, InvalidInput, LATEST_INSTANT, Lifetime, ManageError, ManualClock, MemoryStore,
    NewToken, TokenManager, TokenUpdate, VerifyError,
};
use common::{START, create, key, manager, with_checksum};
use time::{Duration, macros::datetime};

fn refusal(manager: &TokenManager<MemoryStore>, lifetime: Lifetime) -> InvalidInput {
    match manager.create(NewToken::new("refused", lifetime)) {
        Err(ManageError::Invalid(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_token_is_valid_until_one_nanosecond_before_its_expiry() {
    let (manager, clock) = manager();
    let expires_at = START + Duration::hours(1);
    let (_, token) = create(&manager, "hourly", Lifetime::Until(expires_at));

    clock.set(expires_at - Duration::nanoseconds(1));
    assert!(manager.verify(token.expose_secret()).is_ok());

    clock.set(expires_at);
    assert!(matches!(
        manager.verify(token.expose_secret()),
        Err(VerifyError::Expired)
    ));

    clock.set(expires_at + Duration::nanoseconds(1));
    assert!(matches!(
        manager.verify(token.expose_secret()),
        Err(VerifyError::Expired)
    ));
}

#[test]
fn a_lifetime_counts_from_creation() {
    let (manager, clock) = manager();
    let (id, token) = create(&manager, "day", Lifetime::For(Duration::days(1)));
    assert_eq!(
        manager.get(&id).unwrap().expires,
        Expiry::At(START + Duration::days(1))
    );

    clock.advance(Duration::days(1));
    assert!(matches!(
        manager.verify(token.expose_secret()),
        Err(VerifyError::Expired)
    ));
}

#[test]
fn a_token_that_never_expires_verifies_at_the_end_of_time() {
    let (manager, clock) = manager();
    let (id, token) = create(&manager, "forever", Lifetime::Never);
    assert_eq!(manager.get(&id).unwrap().expires, Expiry::Never);

    clock.set(LATEST_INSTANT);
    assert!(manager.verify(token.expose_secret()).is_ok());
}

#[test]
fn an_expired_token_is_reported_only_when_its_secret_matches() {
    let (manager, clock) = manager();
    let (_, token) = create(&manager, "gone", Lifetime::For(Duration::seconds(1)));
    clock.advance(Duration::seconds(2));

    let text = token.expose_secret();
    let forged = with_checksum(&format!("{}{}", &text[..22], "A".repeat(43)));
    assert!(matches!(manager.verify(text), Err(VerifyError::Expired)));
    assert!(matches!(manager.verify(&forged), Err(VerifyError::Invalid)));
}

#[test]
fn expiries_now_or_in_the_past_are_refused() {
    let (manager, _) = manager();
    assert_eq!(
        refusal(&manager, Lifetime::Until(START)),
        InvalidInput::ExpiryNotInFuture
    );
    assert_eq!(
        refusal(&manager, Lifetime::Until(START - Duration::nanoseconds(1))),
        InvalidInput::ExpiryNotInFuture
    );
    assert_eq!(
        refusal(&manager, Lifetime::For(Duration::ZERO)),
        InvalidInput::ExpiryNotInFuture
    );
    assert_eq!(
        refusal(&manager, Lifetime::For(Duration::seconds(-5))),
        InvalidInput::ExpiryNotInFuture
    );
    assert!(manager.list(None).unwrap().is_empty());
}

#[test]
fn expiries_outside_the_supported_range_are_refused() {
    let (manager, _) = manager();
    // The last minute of year 9999 west of Greenwich is already year 10000 in UTC.
    let past_the_end = datetime!(9999-12-31 23:59:59 -01:00);
    assert_eq!(
        refusal(&manager, Lifetime::Until(past_the_end)),
        InvalidInput::ExpiryOutOfRange
    );
    let years = Duration::days(365 * 8000);
    assert_eq!(
        refusal(&manager, Lifetime::For(years)),
        InvalidInput::ExpiryOutOfRange
    );
    assert_eq!(
        refusal(&manager, Lifetime::For(Duration::MAX)),
        InvalidInput::ExpiryOutOfRange
    );

    // The last supported instant itself is fine.
    let created = manager.create(NewToken::new("edge", Lifetime::Until(LATEST_INSTANT)));
    assert_eq!(created.unwrap().info().expires, Expiry::At(LATEST_INSTANT));
}

#[test]
fn expiries_in_other_offsets_are_stored_in_utc() {
    let (manager, _) = manager();
    let at = datetime!(2026-06-02 09:00:00 +09:00);
    let created = manager
        .create(NewToken::new("tokyo", Lifetime::Until(at)))
        .unwrap();
    let stored = created.info().expires.instant().unwrap();
    assert_eq!(stored, at);
    assert!(stored.offset().is_utc());
}

#[test]
fn a_maximum_lifetime_is_enforced_on_create_and_update() {
    let clock = ManualClock::new(START);
    let manager = TokenManager::builder(MemoryStore::new(), key(1), "test")
        .clock(clock)
        .max_lifetime(Duration::days(90))
        .build()
        .unwrap();

    assert!(
        manager
            .create(NewToken::new("ok", Lifetime::For(Duration::days(90))))
            .is_ok()
    );
    assert_eq!(
        refusal(
            &manager,
            Lifetime::For(Duration::days(90) + Duration::nanoseconds(1))
        ),
        InvalidInput::ExpiryBeyondMaxLifetime
    );
    assert_eq!(
        refusal(&manager, Lifetime::Never),
        InvalidInput::ExpiryBeyondMaxLifetime
    );

    let (token, info) = manager
        .create(NewToken::new("short", Lifetime::For(Duration::days(1))))
        .unwrap()
        .into_parts();
    drop(token);
    let longer = TokenUpdate::new().expires(Lifetime::For(Duration::days(91)));
    assert!(matches!(
        manager.update(&info.id, longer),
        Err(ManageError::Invalid(InvalidInput::ExpiryBeyondMaxLifetime))
    ));
}

#[test]
fn a_clock_outside_the_supported_range_refuses_to_mint() {
    let clock = ManualClock::new(datetime!(-0001-01-01 00:00:00 UTC));
    let manager = TokenManager::builder(MemoryStore::new(), key(1), "test")
        .clock(clock)
        .build()
        .unwrap();
    assert_eq!(
        refusal(&manager, Lifetime::Never),
        InvalidInput::ClockOutOfRange
    );
}

#[test]
fn a_non_positive_maximum_lifetime_is_a_configuration_error() {
    let built = TokenManager::builder(MemoryStore::new(), key(1), "test")
        .max_lifetime(Duration::ZERO)
        .build();
    assert!(built.is_err());
}
