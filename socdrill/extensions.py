"""Flask extensions, created unbound; ``create_app`` calls ``init_app`` on each."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from socdrill.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# No default limits: each limited route names its own (login, token use).
limiter = Limiter(key_func=get_remote_address)
# Live updates; bound by socdrill.realtime.init_app (threading mode, always).
socketio = SocketIO()
