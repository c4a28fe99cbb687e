"""Accounts jobs: e-mail leaves the request (a slow or failing mail server must not show)."""

from celery import shared_task
from django.core.mail import send_mail

from apps.accounts.models import User


@shared_task(name="accounts.password_reset_email_send")
def password_reset_email_send_task(user_id: int, link: str) -> bool:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return False
    send_mail(
        "Reset your password",
        f"Someone asked to reset the password of {user.email}.\n\nOpen {link} to choose a new one. "
        "If it was not you, ignore this message.",
        None,
        [user.email],
    )
    return True
