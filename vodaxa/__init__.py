"""vodaxa: from "these targets, these missions" to verified files and reduced products, through the VO.

The pipeline reads as the package: missions -> query -> resolve -> manifest -> download -> process.
This release has the foundation: settings with endpoint overrides (:mod:`vodaxa.config`), the error
hierarchy (:mod:`vodaxa.errors`) and the offline sandbox archive (:mod:`vodaxa.sandbox`).
"""

from . import config, errors
from .config import endpoints
from .errors import VodaxaError

__version__ = "0.1.0.dev0"

__all__ = ["VodaxaError", "__version__", "config", "endpoints", "errors"]
