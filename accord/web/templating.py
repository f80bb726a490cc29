from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from accord import __version__
from accord.web.presenters import CHANNELS, describe, is_known, person_label

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"


def create_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
    templates.env.globals["accord_version"] = __version__
    templates.env.globals["channel_icons"] = CHANNELS
    templates.env.globals["describe"] = describe
    templates.env.globals["label"] = person_label
    templates.env.globals["is_known"] = is_known
    return templates
