"""custom_jvp, custom_vjp and stop_gradient."""


def _pending(*args, **kwargs):
    raise NotImplementedError("custom derivative rules are not implemented yet")


custom_jvp = custom_vjp = stop_gradient = _pending
