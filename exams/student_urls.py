"""The student pages and the sign-in pages they need (Django's auth views)."""
from django.contrib.auth import views as auth_views
from django.urls import path

from exams import student_views as views

urlpatterns = [
    path("", views.exam_list, name="student-home"),
    path("exams/<str:code>/", views.exam_detail, name="student-exam"),
    path("exams/<str:code>/submit/", views.exam_submit, name="student-submit"),
    path("submissions/<int:pk>/", views.submission_detail, name="student-submission"),
    path("submissions/<int:pk>/regrade/", views.regrade_request, name="student-regrade"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_reset/",
         auth_views.PasswordResetView.as_view(form_class=views.FirstPasswordResetForm),
         name="password_reset"),
    path("accounts/password_reset/done/", auth_views.PasswordResetDoneView.as_view(),
         name="password_reset_done"),
    path("accounts/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
]
