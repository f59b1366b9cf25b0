import pytest
import torch

from mnist_ref.model import NUM_PARAMETERS, Net, count_parameters, layer_table, summary


def test_parameter_count_is_the_course_number():
    assert count_parameters(Net()) == NUM_PARAMETERS == 593_200


def test_output_is_log_probabilities_over_ten_classes():
    out = Net()(torch.randn(5, 1, 28, 28))
    assert out.shape == (5, 10)
    assert torch.allclose(out.exp().sum(dim=1), torch.ones(5), atol=1e-5)


def test_shape_walk_matches_the_course():
    shapes = [(name.split("-")[0], shape) for name, shape, _ in layer_table(Net())]
    assert shapes == [
        ("Conv2d", ("N", 32, 26, 26)),
        ("Conv2d", ("N", 64, 24, 24)),
        ("MaxPool2d", ("N", 64, 12, 12)),
        ("Conv2d", ("N", 128, 10, 10)),
        ("Conv2d", ("N", 256, 8, 8)),
        ("MaxPool2d", ("N", 256, 4, 4)),
        ("Linear", ("N", 50)),
        ("Linear", ("N", 10)),
    ]


def test_summary_prints_layers_shapes_and_total(capsys):
    model = Net()
    summary(model)
    printed = capsys.readouterr().out
    assert "Conv2d-1" in printed and "[N, 32, 26, 26]" in printed and "295,168" in printed
    assert "Total params: 593,200" in printed
    assert model.training  # summary must not leave the model in eval mode


@pytest.mark.parametrize(
    "shape, hint",
    [
        ((1, 28, 28), "unsqueeze(0)"),
        ((8, 28, 28), "unsqueeze(1)"),
        ((8, 784), "view(-1, 1, 28, 28)"),
        ((8, 28, 28, 1), "permute(0, 3, 1, 2)"),
        ((8, 3, 32, 32), "(N, 1, 28, 28)"),
    ],
)
def test_wrong_input_shape_says_what_is_expected(shape, hint):
    with pytest.raises(ValueError, match=r"expects a batch of shape \(N, 1, 28, 28\)") as err:
        Net()(torch.zeros(shape))
    assert hint in str(err.value)


def test_non_tensor_input_is_a_type_error():
    with pytest.raises(TypeError, match="torch.Tensor"):
        Net()([[0.0] * 28] * 28)
