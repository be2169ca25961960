"""Two-factor sign-in: TOTP devices (django-otp) and our own recovery codes.

django-otp keeps the device layer (the secret, replay protection via last_t,
its verification throttling); the templates and the sign-in flow are ours.
Recovery codes are not django-otp's static tokens, which are stored in
plaintext: ours keep only an HMAC-SHA256 of the code keyed from SECRET_KEY (a
code is random, at least 50 bits, so a keyed hash is as strong as a slow
password hash here and lets a code be found by its hash). A used code is
marked used by a conditional write and never works again.
"""

from __future__ import annotations

import secrets
from base64 import b32encode
from dataclasses import dataclass

import segno
from auditlog.models import LogEntry
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Company, RecoveryCode
from accounts.user_audit import user_audit_event
from chatbot_site.lib.audit import save_audited
from chatbot_site.lib.errors import ServiceError

RECOVERY_CODE_COUNT = 10
#: Alphabet without look-alikes (0/O, 1/I/L); 12 characters of 31 is ~59 bits.
RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECOVERY_CODE_LENGTH = 12
_HMAC_SALT = "hafen.accounts.twofactor.recovery-code"


def user_has_2fa(user) -> bool:
    """True when the user has a confirmed TOTP device (what sign-in step 2 asks for)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@transaction.atomic
def twofactor_reset(*, user: AbstractBaseUser) -> None:
    """Remove the user's TOTP devices and recovery codes (admin reset, or own removal)."""
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _hash_code(code: str) -> str:
    return salted_hmac(_HMAC_SALT, _normalise_code(code), algorithm="sha256").hexdigest()


def _format_code(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


@transaction.atomic
def recovery_codes_generate(*, user: AbstractBaseUser) -> list[str]:
    """Replace the user's recovery codes with fresh ones; returns them for showing ONCE."""
    RecoveryCode.objects.filter(user=user).delete()
    codes = [
        _format_code(
            "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        )
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=_hash_code(code)) for code in codes
    )
    return codes


def recovery_codes_left(*, user: AbstractBaseUser) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def recovery_code_use(*, user: AbstractBaseUser, code: str) -> bool:
    """Spend one recovery code: True when it was unused and is now marked used.

    The conditional UPDATE (used_at IS NULL) makes two sign-ins racing with
    the same code succeed once.
    """
    if len(_normalise_code(code)) != RECOVERY_CODE_LENGTH:
        return False
    updated = RecoveryCode.objects.filter(
        user=user, code_hash=_hash_code(code), used_at__isnull=True
    ).update(used_at=timezone.now())
    return updated == 1


# --- set-up, verification, removal ------------------------------------------


class TwoFactorError(ServiceError):
    """A 2FA change refused with a message for the person (nothing was changed)."""

    code = "twofactor"


@dataclass(frozen=True)
class TotpSetup:
    device: TOTPDevice
    secret: str  # base32, as authenticator apps take it by hand
    qr_svg: str  # inline <svg>, no script


def totp_setup_get(*, user: AbstractBaseUser) -> TotpSetup:
    """The user's unconfirmed device (made on first call) with its QR code and secret.

    Reloading the page shows the same secret, so a half-finished set-up in the
    app still matches. Refused when a confirmed device exists.
    """
    if user_has_2fa(user):
        raise TwoFactorError(_("Two-factor sign-in is already set up."))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)
    secret = b32encode(device.bin_key).decode("ascii")
    qr_svg = segno.make(device.config_url, error="m").svg_inline(
        scale=5, border=2, omitsize=True, title=_("QR code for the authenticator app")
    )
    return TotpSetup(device=device, secret=secret, qr_svg=qr_svg)


def _clean_token(token: str) -> str:
    return "".join(ch for ch in (token or "") if not ch.isspace())


def _totp_verify_locked(device: TOTPDevice, token: str) -> bool:
    """Verify against a row locked for this transaction: two requests with one code
    cannot both pass django-otp's replay check (last_t) on PostgreSQL."""
    token = _clean_token(token)
    if len(token) != device.digits or not token.isdigit():
        device.throttle_increment(commit=True)
        return False
    return device.verify_token(token)


def totp_confirm(*, user: AbstractBaseUser, token: str) -> list[str]:
    """Confirm the set-up device with a code; returns fresh recovery codes to show once.

    The refusal is raised after the transaction commits, so a wrong code still
    counts towards django-otp's throttling.
    """
    outcome, codes = _totp_confirm_atomic(user=user, token=token)
    if outcome == "none":
        raise TwoFactorError(_("There is no set-up in progress. Start again."))
    if outcome == "throttled":
        raise TwoFactorError(_("Too many wrong codes. Wait a moment and try again."))
    if outcome == "wrong":
        raise TwoFactorError(
            _("That code is not right. Check the time on your phone and enter the current code."),
            field="code",
        )
    return codes


@transaction.atomic
def _totp_confirm_atomic(*, user: AbstractBaseUser, token: str) -> tuple[str, list[str]]:
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("pk")
        .first()
    )
    if device is None or user_has_2fa(user):
        return "none", []
    allowed, _info = device.verify_is_allowed()
    if not allowed:
        return "throttled", []
    if not _totp_verify_locked(device, token):
        return "wrong", []
    # Conditional: of two confirmations racing, one enables 2FA.
    if TOTPDevice.objects.filter(pk=device.pk, confirmed=False).update(confirmed=True) != 1:
        return "none", []
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = recovery_codes_generate(user=user)
    user_audit_event(user=user, actor=user, event="2fa.enabled")
    return "ok", codes


class VerifyResult:
    OK = "ok"
    WRONG = "wrong"
    DEVICE_THROTTLED = "throttled"


@transaction.atomic
def second_factor_verify(*, user: AbstractBaseUser, code: str) -> str:
    """Sign-in step 2: a 6-digit TOTP code or a recovery code. Returns a VerifyResult.

    A recovery code is spent (never works again) and audited as used.
    """
    cleaned = _clean_token(code)
    if cleaned.isdigit():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=True)
            .order_by("pk")
            .first()
        )
        if device is None:
            return VerifyResult.WRONG
        allowed, _info = device.verify_is_allowed()
        if not allowed:
            return VerifyResult.DEVICE_THROTTLED
        return VerifyResult.OK if _totp_verify_locked(device, cleaned) else VerifyResult.WRONG
    if recovery_code_use(user=user, code=cleaned):
        user_audit_event(
            user=user,
            actor=user,
            event="2fa.recovery_code_used",
            codes_left=recovery_codes_left(user=user),
        )
        return VerifyResult.OK
    return VerifyResult.WRONG


@transaction.atomic
def recovery_codes_regenerate(*, user: AbstractBaseUser) -> list[str]:
    if not user_has_2fa(user):
        raise TwoFactorError(_("Set up two-factor sign-in first."))
    codes = recovery_codes_generate(user=user)
    user_audit_event(user=user, actor=user, event="2fa.recovery_codes_regenerated")
    return codes


def company_requires_2fa(*, user: AbstractBaseUser) -> bool:
    """True when any company the user is an active member of requires 2FA."""
    return user.memberships.filter(deactivated_at__isnull=True, company__require_2fa=True).exists()


@transaction.atomic
def twofactor_remove(*, user: AbstractBaseUser, password: str) -> None:
    """The person removes their own 2FA: needs the password, refused where required."""
    if not user.check_password(password or ""):
        raise TwoFactorError(_("The password is not right."))
    if company_requires_2fa(user=user):
        raise TwoFactorError(
            _("Your company requires two-factor sign-in, so it cannot be removed.")
        )
    if not user_has_2fa(user):
        raise TwoFactorError(_("Two-factor sign-in is not set up."))
    twofactor_reset(user=user)
    user_audit_event(user=user, actor=user, event="2fa.disabled")


def company_require_2fa_set(*, company: Company, required: bool, actor) -> bool:
    """Switch the company's "2FA required for all staff"; False when nothing changed."""
    if company.require_2fa == required:
        return False
    company.require_2fa = required
    save_audited(
        company,
        actor=actor,
        action=LogEntry.Action.UPDATE,
        event="company.require_2fa_changed",
        update_fields=["require_2fa"],
        required=required,
    )
    return True
