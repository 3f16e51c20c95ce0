from flask import Blueprint, render_template

bp = Blueprint("parking", __name__, url_prefix="/parking")


@bp.route("")
def index():
    return render_template("parking/index.html")
