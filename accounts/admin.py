from django.contrib import admin

from accounts.models import Company, Membership, Team


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "country", "language", "data_location")
    search_fields = ("name", "slug")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "company", "role")
    list_filter = ("role", "company")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "company")
    list_filter = ("company",)
