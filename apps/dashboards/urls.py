from django.urls import path

from apps.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.SignInView.as_view(), name="login"),
    path("sign-out/", views.sign_out, name="logout"),
    path("switch/", views.switch, name="switch"),
    path("<int:location_id>/today/", views.today, name="today"),
    path("<int:location_id>/today/arrivals/", views.arrivals, name="arrivals"),
    path("<int:location_id>/orders/", views.orders, name="orders"),
    path("<int:location_id>/orders/<int:order_id>/", views.order_detail, name="order"),
    path("<int:location_id>/orders/<int:order_id>/move/", views.order_move, name="order-move"),
    path("<int:location_id>/orders/<int:order_id>/ship/", views.order_ship, name="order-ship"),
    path("<int:location_id>/stock/", views.stock, name="stock"),
    path("<int:location_id>/stock/adjust/", views.stock_adjust, name="stock-adjust"),
    path("<int:location_id>/stock/count/", views.stock_count, name="stock-count"),
    path("<int:location_id>/stock/transfer/", views.stock_transfer, name="stock-transfer"),
    path("<int:location_id>/sales/", views.sales, name="sales"),
    path("<int:location_id>/sales.csv", views.sales_csv, name="sales-csv"),
    path("<int:location_id>/reorder/", views.reorder, name="reorder"),
    path("<int:location_id>/reorder/draft/", views.reorder_draft, name="reorder-draft"),
    path("<int:location_id>/reviews/", views.reviews, name="reviews"),
    path("<int:location_id>/reviews/<int:review_id>/reply/", views.review_reply, name="review-reply"),
    path("<int:location_id>/reviews/<int:review_id>/report/", views.review_report, name="review-report"),
]
