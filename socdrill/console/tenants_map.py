"""Between the SIEM store's tenant names (slugs) and the app's tenant rows."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from socdrill.extensions import db
from socdrill.models import Tenant


def tenant_for_key(key: str) -> Tenant | None:
    """The tenant the SIEM store calls ``key``."""
    return db.session.scalar(sa.select(Tenant).where(Tenant.slug == key))


def ids_for_keys(keys: Sequence[str]) -> list[int]:
    if not keys:
        return []
    return list(db.session.scalars(sa.select(Tenant.id).where(Tenant.slug.in_(keys))))
