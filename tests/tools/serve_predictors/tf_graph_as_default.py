"""The seed page's first fix: the session's graph as default around every call."""

from tf_user_code import Sync, new_session, predict_on_sess


class PythonPredictor:
    def __init__(self, config):
        self.sess = new_session()
        self.sync = Sync()

    def predict(self, payload):
        self.sync(payload)
        with self.sess.graph.as_default():
            return predict_on_sess(self.sess, payload)
