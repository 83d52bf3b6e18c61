"""Form-schema providers: the registry and the built-in providers.

Provider authors write::

    from schema_providers import provider

    @provider("support_ticket", title="Contact support")
    def support_ticket(args, user):
        return {"fields": [...]}
"""

from .registry import Provider, Registry, provider

BUILTIN_MODULES: tuple[str, ...] = ("schema_providers.builtin",)

__all__ = ["BUILTIN_MODULES", "Provider", "Registry", "provider"]
