from django.urls import path

from apps.payments.api import views

urlpatterns = [
    path("orders/<int:order_id>/payment", views.OrderPaymentView.as_view(), name="order-payment"),
    path("orders/<int:order_id>/refunds", views.OrderRefundView.as_view(), name="order-refunds"),
    path("payments/stripe/webhook", views.StripeWebhookView.as_view(), name="stripe-webhook"),
    path("invoices", views.InvoiceListView.as_view(), name="invoices"),
    path("invoices/<int:invoice_id>", views.InvoiceDetailView.as_view(), name="invoice"),
    path("invoices/<int:invoice_id>/payments", views.InvoicePaymentView.as_view(), name="invoice-payments"),
]
