"""The seed page's failure: no strategy, and user code that adds ops to the default graph.

__init__ makes the session (and its graph) its thread's defaults, as a script or a
notebook would, so predict would work on the thread that built the predictor, and only
there: on a pool thread the placeholder lands in the global graph and the feed fails.
"""

from tf_user_code import Sync, new_session, predict_on_sess


class PythonPredictor:
    def __init__(self, config):
        self.sess = new_session()
        self.sess.__enter__()
        self.sync = Sync()

    def predict(self, payload):
        self.sync(payload)
        return predict_on_sess(self.sess, payload)
