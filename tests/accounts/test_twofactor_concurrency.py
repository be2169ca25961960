"""Races on one code, with real threads on PostgreSQL: a code signs in once.

A recovery code is spent by a conditional UPDATE (used_at IS NULL); a TOTP
code is checked against a device row locked with SELECT ... FOR UPDATE, so
django-otp's replay check (last_t) sees the first winner's write.
"""

import threading

import pytest
from django.db import connections
from django.utils import translation

from accounts import twofactor
from accounts.twofactor import VerifyResult
from tests.accounts.twofactor_helpers import code_for, device_for
from tests.services import need_postgres

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 6


@pytest.fixture(autouse=True)
def _postgres(settings):
    need_postgres()
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def _race(fn):
    barrier = threading.Barrier(THREADS)
    results, errors = [], []

    def run():
        try:
            with translation.override("en"):
                barrier.wait(timeout=10)
                results.append(fn())
        except BaseException as exc:  # noqa: BLE001 (handed to the test)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), "a thread did not finish"
    assert not errors, errors
    return results


def test_one_recovery_code_signs_in_once(personas):
    code = twofactor.recovery_codes_generate(user=personas.bob)[0]
    results = _race(lambda: twofactor.second_factor_verify(user=personas.bob, code=code))
    assert sorted(results) == [VerifyResult.OK] + [VerifyResult.WRONG] * (THREADS - 1)
    assert twofactor.recovery_codes_left(user=personas.bob) == 9


def test_one_totp_code_signs_in_once(personas):
    device = device_for(personas.bob)
    code = code_for(device)
    results = _race(lambda: twofactor.second_factor_verify(user=personas.bob, code=code))
    assert results.count(VerifyResult.OK) == 1
    assert results.count(VerifyResult.WRONG) == THREADS - 1


def test_one_setup_confirmation_wins(personas):
    device = device_for(personas.bob, confirmed=False)
    code = code_for(device)

    def confirm():
        try:
            return twofactor.totp_confirm(user=personas.bob, token=code)
        except twofactor.TwoFactorError:
            return None

    results = _race(confirm)
    winners = [r for r in results if r]
    assert len(winners) == 1 and len(winners[0]) == 10
    assert twofactor.recovery_codes_left(user=personas.bob) == 10
