"""The seed page's enter-once pattern, literally: one flag on the instance, and
self.sess.__enter__() on the first call. Right with 1 thread; with N, only the thread of
the first call gets the session and its graph as defaults."""

from tf_user_code import Sync, new_session, predict_on_sess


class PythonPredictor:
    def __init__(self, config):
        self.sess = new_session()
        self.default_graph_loaded = False
        self.sync = Sync()

    def load_graph_if_not_present(self):
        if not self.default_graph_loaded:
            self.sess.__enter__()
            self.default_graph_loaded = True

    def predict(self, payload):
        self.sync(payload)
        self.load_graph_if_not_present()
        prediction = predict_on_sess(self.sess, payload)
        return prediction
