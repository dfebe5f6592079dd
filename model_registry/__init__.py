"""A versioned model registry in S3: publish, approve and fetch the serving artifact."""

import importlib.util
import sys
from pathlib import Path

# The pipeline runs the registry on the SAM CLI's Python, where the project is not installed: the manifest
# contract (standard library only) then comes straight from the core's layer directory.
if importlib.util.find_spec("sentiment_core") is None:
    sys.path.append(str(Path(__file__).resolve().parents[1] / "layers" / "sentiment_core" / "python"))
