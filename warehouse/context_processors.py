def tenancy(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"current_tenant": user.tenant, "is_tenant_admin": user.is_tenant_admin,
            "current_customer": user.customer if user.is_customer_user else None}
