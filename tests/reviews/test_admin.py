"""Reviews in the admin: bulk moderation through the services (recorded, audited, counted), replies
through the reply service, store managers limited to their locations' reviews."""

from auditlog.models import LogEntry
from django.test import Client
from django_tenants.utils import tenant_context

from apps.reviews import services
from apps.reviews.models import Review, ReviewAggregate, ReviewReply
from tests.conftest import TENANT_A


def admin_client(shop, user):
    client = Client(HTTP_HOST=TENANT_A.domain)
    with tenant_context(shop.tenant):
        client.force_login(user)
    return client


def test_bulk_publish_in_the_admin_goes_through_moderation(shop):
    authors = [shop.buyer() for _ in range(2)]
    with tenant_context(shop.tenant):
        held = [
            services.review_create(customer=a, product=shop.product, rating=5, body=f"{w} {w} {w} {w}!")
            for a, w in zip(authors, ["hot", "wow"], strict=True)
        ]
        assert {r.status for r in held} == {"held"}
    owner = shop.staff("owner")
    client = admin_client(shop, owner)
    assert client.get("/admin/reviews/review/").status_code == 200
    assert client.get(f"/admin/reviews/review/{held[0].pk}/change/").status_code == 200
    response = client.post(
        "/admin/reviews/review/", {"action": "publish", "_selected_action": [r.pk for r in held]}, follow=True
    )
    assert response.status_code == 200
    with tenant_context(shop.tenant):
        assert set(Review.objects.values_list("status", flat=True)) == {"published"}
        assert ReviewAggregate.objects.get(product=shop.product).count == 2
        decision = Review.objects.get(pk=held[0].pk).decisions.order_by("-id").first()
        assert (decision.source, decision.actor) == ("moderator", owner.email)
        entry = LogEntry.objects.get_for_object(held[0]).filter(action=LogEntry.Action.UPDATE).latest("id")
        assert entry.actor_id == owner.pk and entry.changes_dict["status"] == ["held", "published"]


def test_a_reply_added_in_the_admin_uses_the_reply_service(shop):
    author = shop.buyer()
    with tenant_context(shop.tenant):
        review = services.review_create(customer=author, product=shop.product, rating=3, body="Decent, a bit mild.")
    owner = shop.staff("owner")
    client = admin_client(shop, owner)
    response = client.post("/admin/reviews/reviewreply/add/", {"review": review.pk, "body": "Try the hotter one!"})
    assert response.status_code == 302, response.content[:500]
    with tenant_context(shop.tenant):
        reply = ReviewReply.objects.get(review=review)
        assert (reply.body, reply.author_id) == ("Try the hotter one!", owner.pk)


def test_store_managers_see_only_their_locations_reviews_in_the_admin(shop):
    author = shop.buyer(fulfilment="pickup")
    with tenant_context(shop.tenant):
        mine = services.review_create(customer=author, location=shop.store, rating=4, body="Quick and friendly.")
        services.review_create(customer=author, product=shop.product, rating=4, body="Tasty sauce indeed.")
    manager = shop.staff("store_manager")
    with tenant_context(shop.tenant):
        shop.store.managers.add(manager)
        manager.is_staff = True
        manager.save(update_fields=["is_staff"])
    page = admin_client(shop, manager).get("/admin/reviews/review/")
    assert page.status_code == 200
    assert list(page.context["cl"].queryset.values_list("pk", flat=True)) == [mine.pk]
