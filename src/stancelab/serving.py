"""The MLflow pyfunc entry point of a logged stancelab model ("models from code").

MLflow copies this file into the model folder and runs it when the model is loaded (by
``mlflow.pyfunc.load_model`` or ``mlflow models serve``). The fitted pipeline itself is a skops
artifact beside it, so no path unpickles anything. The REST server answers each row with its
stance and one score per class.
"""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class StancePyfunc(PythonModel):
    def load_context(self, context):
        from stancelab.inference import load
        from stancelab.persistence import ARTIFACT_KEY

        self.predictor = load(context.artifacts[ARTIFACT_KEY])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

        from stancelab.errors import StancelabError

        try:
            return self.predictor.predict_frame(model_input)
        except StancelabError as err:
            # The caller's mistake (an unknown target, no text column): a 400 with stancelab's
            # message, not MLflow's generic 500 with a server stack trace.
            raise MlflowException(str(err), error_code=INVALID_PARAMETER_VALUE) from None


mlflow.models.set_model(StancePyfunc())
