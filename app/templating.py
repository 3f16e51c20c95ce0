"""What every template can use: site settings, the inbox count, formatting filters."""

from __future__ import annotations

from flask import current_app
from flask_babel import format_date, format_datetime
from flask_login import current_user

from app.accounts.services import mask_phone
from app.clock import hhmm
from app.extensions import db
from app.forms import error_list
from app.i18n import format_fen, html_lang, is_english
from app.notifications.services import unread_count
from app.registry import page_banners, registry
from app.urls import current_path


def init_app(app) -> None:
    app.jinja_env.globals.update(
        html_lang=html_lang, current_path=current_path, error_list=error_list, hhmm=hhmm
    )
    app.jinja_env.filters.update(
        fen=format_fen,
        mask_phone=mask_phone,
        datetime=lambda v, f="medium": format_datetime(v, f) if v else "",
        date=lambda v, f="medium": format_date(v, f) if v else "",
    )

    @app.context_processor
    def site_context():
        config = current_app.config
        english = is_english()
        from flask import g

        database_up = not g.get("database_down")
        signed_in = database_up and current_user and current_user.is_authenticated
        unread = unread_count(db.session, current_user.id) if signed_in else 0
        return {
            "district_name": config["PORTAL_DISTRICT_NAME_EN"]
            if english
            else config["PORTAL_DISTRICT_NAME"],
            "hotline": config["PORTAL_HOTLINE"],
            "english": english,
            "unread_count": unread,
            "services_nav": registry().services,
            "page_banners": page_banners() if signed_in else [],
        }
