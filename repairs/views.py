from flask import Blueprint, render_template

bp = Blueprint("repairs", __name__, url_prefix="/repairs")


@bp.route("")
def index():
    return render_template("repairs/index.html")
