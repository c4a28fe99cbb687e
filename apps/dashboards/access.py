"""Who may open the dashboards and which locations they see.

Staff sign in with the admin's account (and its lockout). A store manager sees the locations they
manage (`Location.managers`); owners and warehouse staff see every active location and switch
between them. A location the caller may not see answers 404, like the API's object-level rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpRequest

from apps.accounts.policy import Principal, staff_roles_of
from apps.stock.models import Location
from apps.stock.selectors import location_list


def principal_for(user: object) -> Principal:
    """The session user as a policy principal (the admin's session carries no API token)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_staff", False):
        return Principal(kind="anonymous")
    roles = set(staff_roles_of(user))
    if user.is_superuser:
        roles.add("owner")
    return Principal(kind="staff", roles=frozenset(roles))


def may_use_dashboards(principal: Principal) -> bool:
    return principal.kind == "staff" and bool(principal.roles)


@dataclass(frozen=True)
class Scope:
    principal: Principal
    user: object
    locations: list[Location]  # what the caller may see, by name
    location: Location | None  # the one the page is about

    @property
    def location_ids(self) -> list[int]:
        return [loc.pk for loc in self.locations]

    @property
    def can_switch(self) -> bool:
        return len(self.locations) > 1


def scope_for(request: HttpRequest, location_id: int | None) -> Scope:
    """One query: the caller's locations; the wanted one must be among them (else 404)."""
    principal = principal_for(request.user)
    locations = list(location_list(principal=principal, user=request.user))
    location = None
    if location_id is not None:
        location = next((loc for loc in locations if loc.pk == location_id), None)
        if location is None:
            raise Http404("No such location.")
    return Scope(principal=principal, user=request.user, locations=locations, location=location)
