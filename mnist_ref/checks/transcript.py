"""Plain data for the grader: what crosses from the learner's kernel to the trusted process.

Grading runs the learner's code in its kernel and decides in another process (see
``mnist_course.checks``). What crosses between them is JSON made here, never a pickle:
``to_data`` accepts only exact built-in types (so a ``str`` subclass or an always-equal object
cannot cross), tensors and NumPy arrays as raw bytes, and the check fixtures registered with
:func:`register_type`. ``from_data`` rebuilds values of exactly those types and refuses anything
else. A tensor that appears twice (a model's parameter and the optimizer's) crosses once and is
rebuilt as one object, so an optimizer still moves its model's weights.

:func:`describe` reports what an answer is and which objects its code reaches, so the grader can
refuse an answer that is, or calls, the library's implementation of the exercise.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import dis
import math
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .framework import CheckFailed


class NotPlainData(CheckFailed):
    """A value that cannot cross to the grader (the learner's answer returned something else)."""


@dataclass(frozen=True)
class FixtureType:
    name: str
    cls: type
    encode: Callable  # (obj, encode) -> data, encode(value) encodes a part with the shared memo
    decode: Callable  # (data, decode, bind) -> obj; bind(id, tensor) makes a tensor id mean obj's own tensor
    restore: Callable  # (obj, data, decode) -> None, puts the state after a call back into obj


_FIXTURES: dict[str, FixtureType] = {}


def register_type(name: str, cls: type, encode: Callable, decode: Callable, restore: Callable) -> None:
    """Let a check fixture (a spy model, a counting optimizer) cross as data; exact type only."""
    _FIXTURES[name] = FixtureType(name, cls, encode, decode, restore)


_DTYPES = {
    str(d).removeprefix("torch."): d
    for d in (
        torch.float64,
        torch.float32,
        torch.float16,
        torch.bfloat16,
        torch.int64,
        torch.int32,
        torch.int16,
        torch.int8,
        torch.uint8,
        torch.bool,
    )
}
_NUMPY_KINDS = "biuf"  # bool, int, unsigned, float: no objects, strings or structures


def _type_name(value) -> str:
    cls = type(value)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _bytes_of(tensor: torch.Tensor) -> str:
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    return base64.b64encode(flat.view(torch.uint8).numpy().tobytes()).decode()


class _Encoder:
    def __init__(self):
        self.memo: dict[int, int] = {}
        self.kept: list = []  # keeps encoded objects alive so their ids are not reused

    def __call__(self, value):
        kind = type(value)
        if value is None or kind in (bool, int, str):
            return value
        if kind is float:
            return value if math.isfinite(value) else {"$": "float", "v": repr(value)}
        if kind is list:
            return [self(v) for v in value]
        if kind is tuple:
            return {"$": "tuple", "v": [self(v) for v in value]}
        if kind is dict:
            return {"$": "dict", "v": [[self(k), self(v)] for k, v in value.items()]}
        if isinstance(value, torch.Tensor) and kind in (torch.Tensor, torch.nn.Parameter):
            return self._tensor(value)
        if kind is torch.device:
            return {"$": "device", "v": str(value)}
        if kind is torch.dtype:
            return {"$": "dtype", "v": str(value).removeprefix("torch.")}
        if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in _NUMPY_KINDS:
            array = np.array(value, order="C")  # 0-d stays 0-d (ascontiguousarray would make it 1-d)
            return {
                "$": "numpy",
                "scalar": isinstance(value, np.generic),
                "dtype": array.dtype.str,
                "shape": list(array.shape),
                "data": base64.b64encode(array.tobytes()).decode(),
            }
        for fixture in _FIXTURES.values():
            if kind is fixture.cls:
                if id(value) in self.memo:  # the optimizer a scheduler holds is the optimizer passed too
                    return {"$": "ref", "id": self.memo[id(value)]}
                own_id = self._remember(value)
                return {"$": "fixture", "type": fixture.name, "id": own_id, "v": fixture.encode(value, self)}
        raise NotPlainData(f"a {_type_name(value)}")

    def _remember(self, value) -> int:
        self.memo[id(value)] = len(self.memo)
        self.kept.append(value)
        return self.memo[id(value)]

    def _tensor(self, tensor: torch.Tensor):
        if id(tensor) in self.memo:
            return {"$": "ref", "id": self.memo[id(tensor)]}
        dtype = str(tensor.dtype).removeprefix("torch.")
        if dtype not in _DTYPES:
            raise NotPlainData(f"a tensor of dtype {tensor.dtype}")
        return {
            "$": "tensor",
            "id": self._remember(tensor),
            "dtype": dtype,
            "shape": list(tensor.shape),
            "device": tensor.device.type,
            "requires_grad": tensor.requires_grad,
            "grad": None if tensor.grad is None else self._tensor(tensor.grad),
            "data": _bytes_of(tensor),
        }


def _need(condition: bool, what: str) -> None:
    if not condition:
        raise NotPlainData(f"malformed data ({what})")


class _Decoder:
    def __init__(self):
        self.tensors: dict[int, torch.Tensor] = {}

    def bind(self, object_id: int, value) -> None:
        """Let later references to ``object_id`` mean ``value`` (a fixture's own parameter, say)."""
        self.tensors[object_id] = value

    def __call__(self, data):
        kind = type(data)
        if data is None or kind in (bool, int, float, str):
            return data
        if kind is list:
            return [self(v) for v in data]
        _need(kind is dict and type(data.get("$")) is str, "a tagged value")
        tag = data["$"]
        if tag == "float":
            _need(data.get("v") in ("nan", "inf", "-inf"), "a float")
            return float(data["v"])
        if tag == "tuple":
            _need(type(data.get("v")) is list, "a tuple")
            return tuple(self(v) for v in data["v"])
        if tag == "dict":
            _need(type(data.get("v")) is list and all(type(p) is list and len(p) == 2 for p in data["v"]), "a dict")
            pairs = [(self(k), self(v)) for k, v in data["v"]]
            _need(all(type(k) in (str, int, bool, float, type(None), tuple) for k, _ in pairs), "a dict key")
            return dict(pairs)
        if tag == "device":
            return torch.device(str(data.get("v")))
        if tag == "dtype":
            _need(data.get("v") in _DTYPES, "a dtype")
            return _DTYPES[data["v"]]
        if tag == "tensor":
            return self._tensor(data)
        if tag == "ref":
            _need(data.get("id") in self.tensors, "a reference")
            return self.tensors[data["id"]]
        if tag == "numpy":
            return self._numpy(data)
        if tag == "fixture":
            _need(data.get("type") in _FIXTURES and type(data.get("id")) is int, "a fixture")
            value = _FIXTURES[data["type"]].decode(data.get("v"), self, self.bind)
            self.bind(data["id"], value)
            return value
        raise NotPlainData(f"malformed data (unknown tag {tag!r})")

    def _tensor(self, data) -> torch.Tensor:
        _need(data.get("dtype") in _DTYPES, "a tensor dtype")
        shape = data.get("shape")
        _need(type(shape) is list and all(type(s) is int and s >= 0 for s in shape), "a tensor shape")
        dtype = _DTYPES[data["dtype"]]
        raw = base64.b64decode(str(data.get("data", "")), validate=True)
        count = math.prod(shape)
        _need(len(raw) == count * torch.empty((), dtype=dtype).element_size(), "tensor bytes")
        tensor = (
            torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dtype).reshape(shape).clone()
            if count
            else torch.empty(shape, dtype=dtype)
        )
        if data.get("requires_grad") is True and tensor.is_floating_point():
            tensor.requires_grad_(True)
        if data.get("grad") is not None:
            grad = self(data["grad"])
            _need(isinstance(grad, torch.Tensor) and grad.shape == tensor.shape, "a gradient")
            tensor.grad = grad
        _need(type(data.get("id")) is int, "a tensor id")
        self.tensors[data["id"]] = tensor
        return tensor

    def _numpy(self, data):
        dtype = np.dtype(str(data.get("dtype")))
        _need(dtype.kind in _NUMPY_KINDS, "a numpy dtype")
        shape = data.get("shape")
        _need(type(shape) is list and all(type(s) is int and s >= 0 for s in shape), "a numpy shape")
        raw = base64.b64decode(str(data.get("data", "")), validate=True)
        _need(len(raw) == math.prod(shape) * dtype.itemsize, "numpy bytes")
        array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return array[()] if data.get("scalar") is True else array


def to_data(value):
    """``value`` as JSON-able plain data; :class:`NotPlainData` names the first type that cannot cross."""
    return _Encoder()(value)


def from_data(data):
    """The value ``data`` stands for, built only from exact built-in types, tensors and arrays."""
    return _Decoder()(data)


UNCHANGED = {"$": "unchanged"}  # an argument the call left as the grader passed it: nothing to put back


def _ids(data, defined: set, referenced: set) -> None:
    """The object ids ``data`` defines (tensors, fixtures) and those it refers to."""
    if type(data) is list:
        for item in data:
            _ids(item, defined, referenced)
    elif type(data) is dict:
        tag = data.get("$")
        if tag in ("tensor", "fixture"):
            defined.add(data.get("id"))
        elif tag == "ref":
            referenced.add(data.get("id"))
        for item in data.values():
            if type(item) in (list, dict):
                _ids(item, defined, referenced)


class _Outside(Exception):
    """The data refers to an object it does not hold itself."""


def _renumbered(data, ids: dict):
    """``data`` with its object ids numbered from 0 in order of appearance (``ids``: old -> new)."""
    if type(data) is list:
        return [_renumbered(item, ids) for item in data]
    if type(data) is not dict:
        return data
    copy = {key: _renumbered(item, ids) if type(item) in (list, dict) else item for key, item in data.items()}
    tag = data.get("$")
    if tag == "ref":
        if data.get("id") not in ids:
            raise _Outside
        copy["id"] = ids[data["id"]]
    elif tag in ("tensor", "fixture"):
        copy["id"] = ids.setdefault(data.get("id"), len(ids))
    return copy


def _same_argument(after, before) -> bool:
    """The argument encodes as it did before the call, up to the numbering of its objects (another
    argument's new gradients shift the ids) and holds no reference to another argument's objects."""
    try:
        return _renumbered(after, {}) == _renumbered(before, {})
    except _Outside:
        return False


def changes_only(after: list, before) -> list:
    """``after`` (``to_data([list(args), kwargs])`` once the call returned) with every argument that
    still encodes as in ``before`` (``to_data((args, kwargs))``, the request) replaced by UNCHANGED:
    a pure function's inputs need not cross back. An argument whose objects a changed argument
    refers to (the model whose weights the optimizer holds) is kept, so the references still resolve."""
    try:
        before_args, before_kwargs = before["v"][0]["v"], dict(before["v"][1]["v"])
        slots = [(after[0], i, before_args[i]) for i in range(len(after[0]))]
        slots += [(pair, 1, before_kwargs.get(pair[0], UNCHANGED)) for pair in after[1]["v"]]
    except (KeyError, IndexError, TypeError, ValueError):
        return after  # not the shapes to_data makes: send everything, as before this was here
    needed: set = set()
    for holder, index, old in reversed(slots):  # references only point back to earlier objects
        defined, referenced = set(), set()
        _ids(holder[index], defined, referenced)
        if not defined & needed and _same_argument(holder[index], old):
            holder[index] = UNCHANGED
        else:
            needed |= referenced
    return after


def restore_into(value, data) -> None:
    """Make ``value`` (an argument the trusted side passed) look as the learner's call left it:
    tensors are changed in place, lists and dicts get their new contents, fixtures their state."""
    _restore(value, data, _Decoder())


def _fixture_classes() -> set[type]:
    return {fixture.cls for fixture in _FIXTURES.values()}


def _restore(value, data, decode: _Decoder) -> None:
    if data == UNCHANGED:
        return
    kind = type(value)
    if isinstance(value, torch.Tensor):
        new = decode(data)
        _need(isinstance(new, torch.Tensor), "a tensor after the call")
        with torch.no_grad():
            if new.shape == value.shape and new.dtype == value.dtype:
                value.copy_(new)
            else:
                value.set_(new.to(value.dtype) if value.requires_grad else new)
        value.grad = new.grad
    elif kind is list:
        if type(data) is list and len(data) == len(value):
            for index, (item, item_data) in enumerate(zip(value, data, strict=True)):
                if isinstance(item, (torch.Tensor, list, dict, tuple)) or type(item) in _fixture_classes():
                    _restore(item, item_data, decode)
                elif item_data != UNCHANGED:  # None -> a tensor, 0 -> 1: replaced, as the learner's call did
                    value[index] = decode(item_data)
        else:
            new = decode(data)
            _need(type(new) is list, "a list after the call")
            value[:] = new
    elif kind is tuple:
        _need(type(data) is dict and data.get("$") == "tuple" and len(data.get("v", ())) == len(value), "a tuple")
        for item, item_data in zip(value, data["v"], strict=True):
            _restore(item, item_data, decode)
    elif kind is dict:
        pairs = data.get("v") if type(data) is dict and data.get("$") == "dict" else None
        if type(pairs) is list and [decode(p[0]) for p in pairs if type(p) is list and p] == list(value):
            for (_, item_data), item in zip(pairs, value.values(), strict=True):
                _restore(item, item_data, decode)
        else:
            new = decode(data)
            _need(type(new) is dict, "a dict after the call")
            value.clear()
            value.update(new)
    else:
        for fixture in _FIXTURES.values():
            if kind is fixture.cls:
                _need(type(data) is dict and data.get("type") == fixture.name, "a fixture after the call")
                fixture.restore(value, data["v"], decode)
                return
        decode(data)  # immutable: nothing to put back, but the data must still be well formed


# --- what an answer is and what its code reaches ------------------------------------------------

_LIBRARY_ROOTS = {"torch", "torchvision", "numpy", "mnist_ref", "mnist_course", "builtins", "IPython", "ipykernel"}
_MAX_REACHED = 5000


def qualified(obj) -> str:
    """``module.qualname`` of a function, class or module; for other objects, that of their type."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    owner = getattr(obj, "__objclass__", None)  # a method of a C type, e.g. torch.Tensor.unfold
    if isinstance(owner, type) and isinstance(getattr(obj, "__name__", None), str):
        return f"{qualified(owner)}.{obj.__name__}"
    if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType)) or callable(obj):
        name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
        module = getattr(obj, "__module__", None)
        if isinstance(name, str) and "<locals>" in name:  # made by a factory: F.max_pool2d
            name = getattr(obj, "__name__", name)
        if isinstance(name, str) and isinstance(module, str) and not isinstance(obj, torch.nn.Module):
            return f"{module}.{name}"
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_library(obj) -> bool:
    module = getattr(obj, "__module__", None) if not isinstance(obj, types.ModuleType) else obj.__name__
    if not isinstance(module, str):
        return True
    if module.split(".")[0] in _LIBRARY_ROOTS or module in sys.stdlib_module_names:
        return True
    return module.split(".")[0] in sys.stdlib_module_names


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    # LOAD_GLOBAL/LOAD_ATTR names are in co_names; LOAD_DEREF reaches closures (handled by the caller).
    names |= {i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_NAME" and isinstance(i.argval, str)}
    return names


_ATTRIBUTE_OPS = {"LOAD_ATTR", "LOAD_METHOD", "STORE_ATTR", "DELETE_ATTR", "IMPORT_FROM"}


def _attribute_names(code: types.CodeType) -> set[str]:
    """Names the code looks up as attributes (F.conv2d's conv2d), not its globals (a helper's own name)."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname in _ATTRIBUTE_OPS and isinstance(i.argval, str)}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _attribute_names(const)
    return names


def _imported_names(code: types.CodeType) -> set[str]:
    names = {i.argval for i in dis.get_instructions(code) if i.opname == "IMPORT_NAME" and isinstance(i.argval, str)}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _imported_names(const)
    return names


def describe(answer) -> dict:
    """What ``answer`` is (``kind``, its ``type``, a class's ``bases``) and, transitively through
    the learner's own functions and classes, the library objects its code reaches (``reached``)."""
    reached: set[str] = set()
    seen: set[int] = set()

    def reach(obj, names: set[str], depth: int = 0) -> None:
        if (id(obj) in seen and not isinstance(obj, types.ModuleType)) or len(seen) > _MAX_REACHED:
            return
        seen.add(id(obj))
        if _is_library(obj):
            reached.add(qualified(obj))
            if isinstance(obj, types.ModuleType) and depth < 4:  # F.conv2d: the module, then its attribute
                for name in names:
                    attribute = getattr(obj, name, None) if name in vars(obj) else None
                    if attribute is not None:
                        reach(attribute, names, depth + 1)
            return
        if isinstance(obj, types.MethodType):
            reach(obj.__func__, names, depth)
            reach(obj.__self__, names, depth)
        elif isinstance(obj, types.FunctionType):
            own = _code_names(obj.__code__)
            attributes = _attribute_names(obj.__code__)  # only these are looked up on the modules it reaches
            for name in own:
                if name in obj.__globals__:
                    reach(obj.__globals__[name], attributes, depth)
                elif hasattr(builtins, name):
                    reach(getattr(builtins, name), attributes, depth)
            for cell in obj.__closure__ or ():
                with contextlib.suppress(ValueError):  # an empty cell
                    reach(cell.cell_contents, attributes, depth)
            for default in (*(obj.__defaults__ or ()), *(obj.__kwdefaults__ or {}).values()):
                reach(default, attributes, depth)
            for module in _imported_names(obj.__code__):  # `import mnist_ref.engine` inside the function
                if module in sys.modules:
                    reach(sys.modules[module], attributes | set(module.split(".")), depth)
        elif isinstance(obj, type):
            for base in obj.__mro__[1:]:
                reach(base, names, depth)
            for member in vars(obj).values():
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if isinstance(member, (types.FunctionType, property)):
                    reach(member.fget if isinstance(member, property) else member, names, depth)
        elif hasattr(obj, "func") and callable(getattr(obj, "func", None)):  # functools.partial
            reach(obj.func, names, depth)
        elif not isinstance(obj, (int, float, str, bytes, bool, type(None))):
            reach(type(obj), names, depth)

    reach(answer, set())
    kind = "class" if isinstance(answer, type) else "function" if callable(answer) else "value"
    if kind == "function" and not isinstance(answer, (types.FunctionType, types.MethodType)):
        kind = "instance"  # a callable object, e.g. nn.NLLLoss()
    bases = [qualified(b) for b in answer.__mro__[1:]] if isinstance(answer, type) else []
    return {"kind": kind, "type": qualified(answer), "bases": bases, "reached": sorted(reached)}
