# CodePod's Python kernel driver (see docs/code.md). The agent starts it
# with requests on fd 3 and messages to the agent on fd 4, one JSON object
# a line; fds 1 and 2 are the cell's stdout and stderr.
import ast, base64, json, os, signal, sys, traceback

os.set_inheritable(3, False)
os.set_inheritable(4, False)
sys.stdout.reconfigure(line_buffering=True)
_in = os.fdopen(3, "r", encoding="utf-8")
_out = os.fdopen(4, "w", encoding="utf-8")


def _send(msg):
    _out.write(json.dumps(msg) + "\n")
    _out.flush()


def _bundle(obj):
    data = {}
    for meth, mime, enc in (("_repr_html_", "text/html", None),
                            ("_repr_png_", "image/png", "b64"),
                            ("_repr_json_", "application/json", "json"),
                            ("_repr_markdown_", "text/markdown", None),
                            ("_repr_svg_", "image/svg+xml", None)):
        f = getattr(obj, meth, None)
        if f is None or isinstance(obj, type):
            continue
        try:
            v = f()
        except Exception:
            continue
        if v is None:
            continue
        if enc == "b64":
            v = base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v
        elif enc == "json":
            v = json.dumps(v)
        data[mime] = v
    data["text/plain"] = repr(obj)
    return data


def display(*objs):
    """Send each object as a rich result (display_data)."""
    for o in objs:
        _send({"msg_type": "display_data", "data": _bundle(o)})


_ns = {"__name__": "__main__", "__builtins__": __builtins__, "display": display}


def _run(code):
    tree = ast.parse(code, "<cell>", "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, "<cell>", "exec"), _ns)
    if last is not None:
        v = eval(compile(last, "<cell>", "eval"), _ns)
        if v is not None:
            _ns["_"] = v
            _send({"msg_type": "execute_result", "data": _bundle(v)})


_in_cell = False
_driver_file = sys._getframe().f_code.co_filename


def _sigint(signum, frame):
    # The agent's interrupt: a KeyboardInterrupt in a running cell, nothing
    # between cells (so a late one cannot cost a reply).
    if _in_cell:
        raise KeyboardInterrupt


signal.signal(signal.SIGINT, _sigint)


def _cell(req):
    global _in_cell
    status = "ok"
    try:
        _in_cell = True
        try:
            _run(req.get("code", ""))
        finally:
            _in_cell = False
    except BaseException as e:  # KeyboardInterrupt and SystemExit too
        status = "error"
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == _driver_file:
            tb = tb.tb_next  # the driver's own frames
        tb = traceback.format_exception(type(e), e, tb)
        _send({"msg_type": "error", "ename": type(e).__name__, "evalue": str(e), "traceback": tb})
    finally:
        for s in (sys.stdout, sys.stderr):
            try:
                s.flush()
            except Exception:
                pass
    _send({"msg_type": "execute_reply", "status": status})


def main():
    os.environ.pop("CODEPOD_KERNEL", None)
    while True:
        line = _in.readline()
        if not line:
            return
        _cell(json.loads(line))


main()
