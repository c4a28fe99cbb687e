"""Users of one schema: a tenant's staff and customers, or (public schema) platform operators.

Every user has a kind, which is also the session type of the tokens it signs in with:
staff (roles as groups), retail customers, wholesale buyers (of a business account) and
anonymous guests (device-bound, no credentials, upgradable to a retail account in place so
whatever they own stays theirs).
"""

import uuid
from decimal import Decimal
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac


class UserKind(models.TextChoices):
    STAFF = "staff", "Staff"
    RETAIL = "retail", "Retail customer"
    WHOLESALE = "wholesale", "Wholesale buyer"
    GUEST = "guest", "Guest"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        if extra.get("is_staff"):
            extra.setdefault("kind", UserKind.STAFF)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.update(is_staff=True, is_superuser=True, kind=UserKind.STAFF)
        return self._create(email, password, **extra)


class PaymentTerms(models.IntegerChoices):
    NET_15 = 15, "Net 15"
    NET_30 = 30, "Net 30"
    NET_60 = 60, "Net 60"


class WholesaleAccount(models.Model):
    """A business that buys wholesale; staff approve it before its buyers can order."""

    name = models.CharField(max_length=200)
    tax_id = models.CharField(max_length=64)
    billing_address = models.TextField()
    price_list_group = models.CharField(
        max_length=64, blank=True, help_text="Price-list group the catalog prices this account with."
    )
    is_approved = models.BooleanField(default=False)
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Credit terms (apps.accounts.credit): orders on account are invoiced, due after the terms; the
    # open balance (what the invoices still owe) never goes above the limit through a new order.
    credit_limit = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Most the account may owe on open invoices; 0: no ordering on account.",
    )
    payment_terms = models.PositiveSmallIntegerField(
        choices=PaymentTerms.choices, default=PaymentTerms.NET_30, help_text="Days from invoice to due date."
    )
    open_balance = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        editable=False,
        help_text="Sum of what open and overdue invoices still owe; changed only with those invoices.",
    )
    credit_hold = models.BooleanField(
        default=False, editable=False, help_text="An invoice is overdue: new orders on account wait for staff."
    )
    credit_hold_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credit_limit__gte=0), name="wholesale_credit_limit_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(open_balance__gte=0), name="wholesale_open_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def available_credit(self) -> Decimal:
        return max(self.credit_limit - self.open_balance, Decimal("0"))


class User(AbstractBaseUser, PermissionsMixin):
    kind = models.CharField(max_length=16, choices=UserKind.choices, default=UserKind.RETAIL)
    email = models.EmailField(max_length=254, unique=True, null=True, blank=True)
    full_name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    birthday = models.DateField(null=True, blank=True)
    marketing_consent = models.BooleanField(default=False)
    wholesale_account = models.ForeignKey(
        WholesaleAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="buyers"
    )
    device_id = models.CharField(
        max_length=128, null=True, blank=True, unique=True, help_text="Guests: the device they were created on."
    )
    is_staff = models.BooleanField(default=False, help_text="Can sign in to this business's admin.")
    session_epoch = models.PositiveIntegerField(
        default=0, editable=False, help_text="Bumped to end every browser (admin) session of the user."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.email or f"{self.kind} {self.pk}"

    def get_full_name(self) -> str:
        return self.full_name or (self.email or "")

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django checks this on every request of a cookie session: bumping session_epoch (sign out
        # everywhere, staff revocation, deletion) ends the user's admin sessions too.
        return salted_hmac(
            "apps.accounts.User.session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def get_short_name(self) -> str:
        return self.get_full_name()


class AuthSession(models.Model):
    """One signed-in device: the family of tokens issued to it.

    Access tokens (short) and refresh tokens (30 days, rotated on use) carry this session's id;
    revoking the session rejects both on the next request. Only the current refresh token's id
    is valid: presenting an older one (a stolen, replayed token) revokes the whole session.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_sessions")
    session_type = models.CharField(max_length=16, choices=UserKind.choices)
    device_name = models.CharField(max_length=120, blank=True)
    refresh_jti = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-last_used_at"]
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.user} on {self.device_name or 'a device'}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def is_usable(self) -> bool:
        """Active, and its user still the kind it signed in as: a user deactivated, demoted from
        staff or changed kind since signing in loses these tokens at once."""
        user = self.user
        if not self.is_active or not user.is_active or user.kind != self.session_type:
            return False
        return user.is_staff if self.session_type == UserKind.STAFF else True


class ApiKey(models.Model):
    """A partner's server-to-server key. Shown once at creation; only its SHA-256 is stored.

    The key reads `fnb_<prefix>_<secret>`: the prefix finds the row, the hash of the whole key
    proves it (keys are 256-bit random, so a fast hash is as strong as a slow one here).
    """

    name = models.CharField(max_length=120, help_text="Who uses it, e.g. 'Acme Distribution ERP'.")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list, help_text="e.g. ['inventory:read', 'orders:write']")
    rate_limit = models.CharField(
        max_length=32, blank=True, help_text="Its own limit, e.g. '600/minute'; empty: the plan's per-caller limit."
    )
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "partner API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
