"""Imports every model module so that ``Base.metadata`` knows all tables.

Alembic's env and the drift test import this module; add each new feature's models here.
"""

from __future__ import annotations

from app.access import models as _access_models  # noqa: F401
from app.api import idempotency as _idempotency  # noqa: F401
from app.calendar import models as _calendar_models  # noqa: F401
from app.callbacks import models as _callback_models  # noqa: F401
from app.claims import models as _claim_models  # noqa: F401
from app.clocks import models as _clock_models  # noqa: F401
from app.complaints import models as _complaint_models  # noqa: F401
from app.customers import models as _customer_models  # noqa: F401
from app.db.base import Base
from app.events import models as _event_models  # noqa: F401
from app.feed import models as _feed_models  # noqa: F401
from app.inquiries import models as _inquiry_models  # noqa: F401
from app.ivr import models as _ivr_models  # noqa: F401
from app.org import models as _org_models  # noqa: F401
from app.reports import models as _report_models  # noqa: F401
from app.webhooks import models as _webhook_models  # noqa: F401

metadata = Base.metadata
