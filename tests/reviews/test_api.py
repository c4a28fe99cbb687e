"""Reviews over HTTP: public lists (filters, sorts, constant queries), submission and its limits,
the author's own view, edits and history, moderation and its scope, the queue, reports, votes,
replies, photos and summaries."""

import io
import itertools

from django.test import override_settings
from django_tenants.utils import tenant_context
from PIL import Image

from apps.reviews import services
from apps.reviews.models import Review

GOOD = "Lovely fruity heat, great on tacos and eggs."
NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
_made = itertools.count()


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def products_url(shop, suffix=""):
    return f"/api/v1/products/{shop.product.pk}/reviews{suffix}"


def make_reviews(shop, ratings, **kwargs):
    made = []
    for rating in ratings:
        i = next(_made) % len(NAMES)
        buyer = shop.buyer(f"Buyer{i} Person{i}")
        with tenant_context(shop.tenant):
            made.append(
                services.review_create(
                    customer=buyer,
                    product=shop.product,
                    rating=rating,
                    body=f"{NAMES[i]} tried the sauce with tacos and eggs.",
                    **kwargs,
                )
            )
    return made


def test_a_buyer_submits_a_review_and_the_public_sees_it(shop):
    buyer = shop.buyer("Rita Retail")
    created = post(shop.client(buyer), products_url(shop), {"rating": 5, "title": "Yum", "body": GOOD})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["status"], body["verified_purchase"], body["author"]) == ("published", True, "Rita R.")
    assert body["screening"]["reasons"] == []
    listed = shop.client().get(products_url(shop)).json()
    assert listed["count"] == 1 and set(listed) == {"count", "next", "previous", "results"}
    (public,) = listed["results"]
    assert public["title"] == "Yum" and "status" not in public and "screening" not in public
    assert "@" not in str(public)  # no e-mail address leaks


def test_submission_errors_have_stable_codes(shop):
    stranger, buyer = shop.customer(), shop.buyer()
    refused = post(shop.client(stranger), products_url(shop), {"rating": 5, "body": GOOD})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "review_not_allowed"
    client = shop.client(buyer)
    for bad in ({"rating": 1.5, "body": GOOD}, {"rating": True, "body": GOOD}, {"rating": 6}, {"body": GOOD}):
        response = post(client, products_url(shop), bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error", bad
    assert post(client, products_url(shop), {"rating": 4}).json()["error"]["details"]["body"]
    assert post(client, products_url(shop), {"rating": 4, "body": GOOD}).status_code == 201
    again = post(client, products_url(shop), {"rating": 3, "body": "Second thoughts."})
    assert again.status_code == 409 and again.json()["error"]["code"] == "review_exists"
    missing = post(client, "/api/v1/products/999999/reviews", {"rating": 4, "body": GOOD})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@override_settings(REVIEW_SUBMIT_RATE_LIMIT="2/hour")
def test_review_submissions_are_rate_limited_per_customer(shop):
    buyer = shop.buyer()
    client = shop.client(buyer)
    assert post(client, products_url(shop), {"rating": 4, "body": GOOD}).status_code == 201
    assert post(client, products_url(shop), {"rating": 4, "body": GOOD}).status_code == 409
    limited = post(client, f"/api/v1/locations/{shop.store.pk}/reviews", {"rating": 4, "body": "Nice store."})
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert limited.has_header("Retry-After")
    assert shop.client(buyer).get(products_url(shop)).status_code == 200  # reading is not limited


def test_public_lists_filter_and_sort(shop, media_root):
    reviews = make_reviews(shop, [5, 3, 1, 4])
    voter = shop.customer()
    with tenant_context(shop.tenant):
        services.review_vote_helpful(review=reviews[1], customer=voter)
        out = io.BytesIO()
        Image.new("RGB", (20, 20)).save(out, format="JPEG")
        from django.core.files.uploadedfile import SimpleUploadedFile

        services.review_photo_add(review=reviews[2], upload=SimpleUploadedFile("p.jpg", out.getvalue()))
    client = shop.client()

    def ids(query=""):
        response = client.get(products_url(shop, query))
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    newest_first = [r.pk for r in reversed(reviews)]
    assert ids() == newest_first == ids("?sort=newest")
    assert ids("?sort=oldest") == [r.pk for r in reviews]
    assert ids("?sort=rating_high") == [reviews[0].pk, reviews[3].pk, reviews[1].pk, reviews[2].pk]
    assert ids("?sort=rating_low")[0] == reviews[2].pk
    assert ids("?sort=helpful")[0] == reviews[1].pk
    assert ids("?rating=3") == [reviews[1].pk]
    assert ids("?with_photos=true") == [reviews[2].pk]
    assert ids("?verified=true") == newest_first and ids("?verified=false") == []
    (with_photo,) = client.get(products_url(shop, "?with_photos=true")).json()["results"]
    assert with_photo["photos"][0]["url"].startswith("/media/reviews/")
    for bad in ("?rating=7", "?sort=random", "?rating=1.5"):
        response = client.get(products_url(shop, bad))
        assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error", bad


def test_public_lists_run_a_constant_number_of_queries(shop, django_assert_max_num_queries, media_root):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    staff = shop.staff()
    reviews = make_reviews(shop, [5, 4])
    client = shop.client()

    def count_queries(url):
        # Tenant routing (domain lookup, search_path) + product, count, page (author and reply
        # joined), photos: 10 statements, however many reviews, photos and replies.
        with django_assert_max_num_queries(10), CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return len(captured.captured_queries), response.json()

    few, _ = count_queries(products_url(shop))
    more = make_reviews(shop, [1, 2, 3, 4, 5, 5])
    with tenant_context(shop.tenant):
        for review in [*reviews, *more]:
            services.review_reply_set(review=review, author=staff, body="Thanks!")
            services.review_photo_add(review=review, upload=_jpeg())
            services.review_photo_add(review=review, upload=_jpeg())
    many, listed = count_queries(products_url(shop))
    assert few == many
    assert listed["count"] == 8 and all(
        r["reply"]["body"] == "Thanks!" and len(r["photos"]) == 2 for r in listed["results"]
    )
    assert count_queries(f"/api/v1/locations/{shop.store.pk}/reviews")[0] <= few  # empty: no photo query


def _jpeg():
    from django.core.files.uploadedfile import SimpleUploadedFile

    out = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 200, 10)).save(out, format="JPEG")
    return SimpleUploadedFile("p.jpg", out.getvalue(), content_type="image/jpeg")


def test_held_reviews_are_only_seen_by_their_author_and_moderators(shop):
    author, other = shop.buyer(), shop.customer()
    created = post(shop.client(author), products_url(shop), {"rating": 5, "body": "This is the shit!"}).json()
    assert created["status"] == "held" and created["screening"]["reasons"][0]["rule"] == "profanity"
    url = f"/api/v1/reviews/{created['id']}"
    assert shop.client().get(url).status_code == 404
    assert shop.client(other).get(url).status_code == 404
    own = shop.client(author).get(url).json()
    assert own["status"] == "held" and own["screening"]["decision"] == "held"
    assert shop.client(shop.staff("owner")).get(url).json()["status"] == "held"
    assert shop.client().get(products_url(shop)).json()["count"] == 0
    mine = shop.client(author).get("/api/v1/me/reviews").json()
    assert [r["id"] for r in mine["results"]] == [created["id"]]


def test_the_author_edits_with_history_and_deletes(shop, django_capture_on_commit_callbacks):
    author, other = shop.buyer(), shop.buyer()
    review = post(shop.client(author), products_url(shop), {"rating": 5, "title": "Yum", "body": GOOD}).json()
    url = f"/api/v1/reviews/{review['id']}"
    client = shop.client(author)
    assert shop.client(other).patch(url, {"rating": 1}, content_type="application/json").status_code == 404
    edited = client.patch(url, {"rating": 4, "body": "Still good, slightly sweet."}, content_type="application/json")
    assert edited.status_code == 200 and edited.json()["rating"] == 4 and edited.json()["edited_at"]
    history = client.get(f"{url}/history").json()
    assert [(r["rating"], r["body"]) for r in history["revisions"]] == [(5, GOOD)]
    assert [d["source"] for d in history["decisions"]] == ["screening", "screening"]
    assert all(d["actor"] is None for d in history["decisions"])  # no e-mail reaches the author
    assert shop.client(other).get(f"{url}/history").status_code == 404
    assert shop.client().get(products_url(shop, "/summary")).json()["average"] == "4.00"
    assert shop.client(other).delete(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):  # the summary's cache is dropped on commit
        assert client.delete(url).status_code == 204
    assert shop.client().get(url).status_code == 404
    assert shop.client().get(products_url(shop, "/summary")).json()["count"] == 0
    assert client.get(url).json()["is_deleted"] is True
    gone = client.patch(url, {"rating": 3}, content_type="application/json")
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "review_not_editable"


def test_moderation_by_api_publishes_and_is_scoped_to_the_moderators_locations(shop):
    author = shop.buyer(fulfilment="pickup")
    product_review = post(shop.client(author), products_url(shop), {"rating": 4, "body": "Hot hot hot hot!"}).json()
    store_review = post(
        shop.client(author),
        f"/api/v1/locations/{shop.store.pk}/reviews",
        {"rating": 5, "body": "GREAT STAFF, VERY FAST PICKUP"},
    ).json()
    assert product_review["status"] == store_review["status"] == "held"
    owner, manager, other_manager = shop.staff("owner"), shop.staff("store_manager"), shop.staff("store_manager")
    with tenant_context(shop.tenant):
        shop.store.managers.add(manager)
        shop.other_store.managers.add(other_manager)

    def moderate(user, review, status, note=""):
        return shop.client(user).put(
            f"/api/v1/reviews/{review['id']}/moderation",
            {"status": status, "note": note},
            content_type="application/json",
        )

    assert moderate(other_manager, store_review, "published").status_code == 404
    assert moderate(manager, product_review, "published").status_code == 404  # products are the owner's
    done = moderate(manager, store_review, "published", "fine")
    assert (
        done.status_code == 200 and done.json()["status"] == "published" and done.json()["moderation_note"] == "fine"
    )
    bad = moderate(owner, product_review, "maybe")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    assert moderate(owner, product_review, "rejected", "spam").json()["status"] == "rejected"
    trail = shop.client(owner).get(f"/api/v1/reviews/{product_review['id']}/history").json()["decisions"]
    assert (trail[-1]["source"], trail[-1]["actor"], trail[-1]["note"]) == ("moderator", owner.email, "spam")
    seen_by_author = shop.client(author).get(f"/api/v1/reviews/{product_review['id']}/history").json()["decisions"]
    assert seen_by_author[-1]["to_status"] == "rejected" and seen_by_author[-1]["actor"] is None
    assert moderate(shop.staff("warehouse"), product_review, "published").status_code == 403
    assert shop.client().get(f"/api/v1/locations/{shop.store.pk}/reviews").json()["count"] == 1


def test_the_moderation_queue_lists_held_reviews_oldest_first_with_reasons(shop):
    authors = [shop.buyer() for _ in range(3)]
    held_1 = post(shop.client(authors[0]), products_url(shop), {"rating": 5, "body": "shit good"}).json()
    post(shop.client(authors[1]), products_url(shop), {"rating": 5, "body": GOOD})
    held_2 = post(
        shop.client(authors[2]), products_url(shop), {"rating": 5, "body": "ALL CAPS IS HOW I WRITE REVIEWS"}
    ).json()
    owner = shop.client(shop.staff("owner"))
    queue = owner.get("/api/v1/reviews/moderation-queue").json()
    assert [r["id"] for r in queue["results"]] == [held_1["id"], held_2["id"]]
    assert queue["results"][1]["screening"]["reasons"][0]["rule"] == "all_caps"
    assert owner.get("/api/v1/reviews/moderation-queue?status=published").json()["count"] == 1
    assert owner.get("/api/v1/reviews/moderation-queue?subject=location").json()["count"] == 0
    manager = shop.client(shop.staff("store_manager"))
    assert manager.get("/api/v1/reviews/moderation-queue").json()["count"] == 0
    warehouse = shop.client(shop.staff("warehouse"))
    assert warehouse.get(f"/api/v1/reviews/{held_1['id']}").status_code == 404  # not theirs to moderate
    published = owner.get("/api/v1/reviews/moderation-queue?status=published").json()["results"][0]
    assert warehouse.get(f"/api/v1/reviews/{published['id']}").status_code == 200  # public is public
    assert shop.client(authors[0]).get("/api/v1/reviews/moderation-queue").status_code == 403


@override_settings(REVIEW_REPORTS_TO_HOLD=2)
def test_customers_report_and_enough_reports_hold_the_review(shop):
    (review,) = make_reviews(shop, [5])
    first, second = shop.customer(), shop.customer()
    url = f"/api/v1/reviews/{review.pk}/reports"
    assert post(shop.client(first), url, {"reason": "fake", "note": "bot"}).status_code == 201
    duplicate = post(shop.client(first), url, {"reason": "spam"})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "review_already_reported"
    assert post(shop.client(second), url, {"reason": "nonsense"}).status_code == 400
    assert post(shop.client(second), url, {"reason": "spam"}).status_code == 201
    assert shop.client().get(f"/api/v1/reviews/{review.pk}").status_code == 404  # held now
    queue = shop.client(shop.staff()).get("/api/v1/reviews/moderation-queue?reported=true").json()
    assert [r["id"] for r in queue["results"]] == [review.pk] and queue["results"][0]["open_report_count"] == 2


def test_helpful_votes_and_merchant_replies_show_in_the_public_list(shop):
    (review,) = make_reviews(shop, [4])
    fan = shop.customer()
    url = f"/api/v1/reviews/{review.pk}"
    assert post(shop.client(fan), f"{url}/helpful").json()["helpful_count"] == 1
    assert post(shop.client(fan), f"{url}/helpful").json()["helpful_count"] == 1
    with tenant_context(shop.tenant):
        author = Review.objects.get(pk=review.pk).customer
    own = post(shop.client(author), f"{url}/helpful")
    assert own.status_code == 400 and own.json()["error"]["code"] == "review_own"
    staff = shop.client(shop.staff())
    replied = staff.put(f"{url}/reply", {"body": "Thank you, Buyer0!"}, content_type="application/json")
    assert replied.status_code == 200 and replied.json()["reply"]["body"] == "Thank you, Buyer0!"
    (public,) = shop.client().get(products_url(shop)).json()["results"]
    assert public["reply"]["body"] == "Thank you, Buyer0!" and public["helpful_count"] == 1
    assert shop.client(fan).put(f"{url}/reply", {"body": "me too"}, content_type="application/json").status_code == 403
    assert shop.client(fan).delete(f"{url}/helpful").json()["helpful_count"] == 0
    assert staff.delete(f"{url}/reply").status_code == 204
    assert shop.client().get(products_url(shop)).json()["results"][0]["reply"] is None


def test_photos_are_uploaded_by_the_author_and_validated(shop, media_root):
    (review,) = make_reviews(shop, [5])
    with tenant_context(shop.tenant):
        author = Review.objects.get(pk=review.pk).customer
    url = f"/api/v1/reviews/{review.pk}/photos"
    client = shop.client(author)
    added = client.post(url, {"image": _jpeg()})
    assert added.status_code == 201, added.content
    assert (added.json()["width"], added.json()["height"]) == (30, 20)
    from django.core.files.uploadedfile import SimpleUploadedFile

    wrong = client.post(url, {"image": SimpleUploadedFile("x.jpg", b"not an image at all", content_type="image/jpeg")})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] in {"photo_invalid", "validation_error"}
    assert shop.client(shop.customer()).post(url, {"image": _jpeg()}).status_code == 404
    photo_id = added.json()["id"]
    assert client.delete(f"{url}/{photo_id}").status_code == 204
    assert client.delete(f"{url}/{photo_id}").status_code == 404


def test_summaries_of_products_and_locations(shop):
    make_reviews(shop, [5, 4, 4, 1])
    summary = shop.client().get(products_url(shop, "/summary")).json()
    assert summary == {
        "count": 4,
        "average": "3.50",
        "distribution": {"1": 1, "2": 0, "3": 0, "4": 2, "5": 1},
        "verified_share": "1.00",
    }
    empty = shop.client().get(f"/api/v1/locations/{shop.store.pk}/reviews/summary").json()
    assert empty == {
        "count": 0,
        "average": None,
        "distribution": {str(n): 0 for n in range(1, 6)},
        "verified_share": None,
    }
    assert shop.client().get("/api/v1/locations/999999/reviews/summary").status_code == 404


def test_the_moderation_queue_and_my_reviews_run_a_constant_number_of_queries(shop, media_root):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    owner = shop.client(shop.staff("owner"))

    def held_reviews(n):
        for _ in range(n):
            author = shop.buyer()
            with tenant_context(shop.tenant):
                review = services.review_create(
                    customer=author,
                    product=shop.product,
                    rating=5,
                    body=f"{next(_made)} SHOUTING IS SIMPLY MY STYLE OK",
                )
                services.review_photo_add(review=review, upload=_jpeg())
                assert review.status == "held"
        return author

    def queries(client, url):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return len(captured.captured_queries), response.json()["count"]

    held_reviews(1)
    few = queries(owner, "/api/v1/reviews/moderation-queue")
    author = held_reviews(5)
    many = queries(owner, "/api/v1/reviews/moderation-queue")
    assert (few[1], many[1]) == (1, 6) and few[0] == many[0]
    mine = shop.client(author)
    assert queries(mine, "/api/v1/me/reviews")[1] == 1
