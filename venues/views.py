from flask import Blueprint, render_template

bp = Blueprint("venues", __name__, url_prefix="/venues")


@bp.route("")
def index():
    return render_template("venues/index.html")
