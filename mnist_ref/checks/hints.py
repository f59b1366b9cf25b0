"""The hints of every exercise, in steps: ``check.X.hint()`` shows the next, ``hint(n)`` step n.

Step 1 nudges towards the idea, the last is nearly the whole step, none is the answer itself
(``check.X.solution()`` is, and only where the course's solutions/ are present).
"""

HINTS: dict[str, tuple[str, ...]] = {
    # --- lesson 01 · MNIST data ------------------------------------------------------------------
    "lesson01.class_counts": (
        "For each digit d from 0 to 9 you need how many labels equal d, and the result must have 10 entries "
        "even when a digit never occurs in `targets`.",
        "`torch.bincount` counts how often each non-negative integer occurs in a 1-D tensor, but its result "
        "is only as long as the largest label + 1.",
        "Call `torch.bincount` on the labels (as a long tensor) and ask for at least 10 bins with its "
        "`minlength` argument. A loop that sums `targets == d` for every digit works too.",
    ),
    "lesson01.pixel_mean_std": (
        "Two steps: bring the pixels into [0, 1] as floats, then reduce over every pixel of every image at "
        "once, not image by image.",
        "A uint8 tensor refuses `.mean()`: convert it with `.float()` first, then divide by 255.",
        "Without a `dim` argument, `.mean()` and `.std()` reduce over all dimensions. Turn each 0-d result "
        "into a Python float with `.item()` and return the pair (mean, std).",
    ),
    "lesson01.make_transform": (
        "Return a transform, a callable that is applied later to each PIL image, not a tensor; it does the "
        "two steps of section 3: to a tensor, then normalize.",
        "`transforms.Compose` chains transforms in list order; `transforms.ToTensor()` turns a PIL image into "
        "a float tensor in [0, 1] of shape (1, H, W).",
        "After ToTensor comes `transforms.Normalize`, which takes one mean and one std per channel: MNIST has "
        "one channel, so pass one-element tuples made from the arguments. Normalize works on tensors, which "
        "is why it cannot come first.",
    ),
    "lesson01.batch_sizes": (
        "A DataLoader fills batches of `batch_size` one after another; only the last one can be smaller, "
        "and `drop_last=True` throws that smaller one away.",
        "`divmod(n_examples, batch_size)` gives the number of full batches and the number of examples left over.",
        "Start from a list that holds `batch_size` once per full batch, then append the left-over count as "
        "one more batch only if it is not 0 and `drop_last` is False.",
    ),
    # --- lesson 02 · convolution -----------------------------------------------------------------
    "lesson02.conv2d_loops": (
        "Each output pixel out[i, j] is the window of the image that starts at row i, column j, multiplied "
        "element by element with the kernel and summed (no flipping: this is cross-correlation).",
        "The window fits H - kh + 1 times down and W - kw + 1 times across: make a tensor of zeros of that "
        "shape and fill it in two nested loops over i and j.",
        "Slicing takes the whole kh x kw window at once: rows i up to i + kh (exclusive), columns j up to "
        "j + kw. Multiply it by `kernel`, `.sum()` it, and store the result in out[i, j].",
    ),
    "lesson02.conv2d_unfold": (
        "A convolution is a matrix product in disguise: lay every window (over all input channels) out as a "
        "column, and each output channel is one row of weights times those columns.",
        "`F.unfold(x, (kh, kw))` gives the columns, shape (N, C_in*kh*kw, L) with L = (H-kh+1)*(W-kw+1); "
        "reshape `weight` to (C_out, C_in*kh*kw) so that `@` with the columns gives (N, C_out, L).",
        "The bias has one value per output channel: view it as (1, C_out, 1) so it broadcasts over the batch "
        "and the L positions. Finally reshape (N, C_out, L) to (N, C_out, H - kh + 1, W - kw + 1).",
    ),
    "lesson02.conv_output_size": (
        "Count the positions of the window: it starts at the first pixel and moves `stride` pixels at a time "
        "until it would leave the (padded) input.",
        "Padding adds `padding` pixels on EACH side, so the padded input is n + 2 * padding wide; the window's "
        "first start is 0 and its last possible start is that width minus k.",
        "The number of positions is the last possible start divided by the stride, rounded down, plus one "
        "for the first position; `//` rounds down and keeps an int.",
    ),
    "lesson02.conv_parameters": (
        "Count weights and biases separately; the image size plays no role, because a convolution uses the "
        "same weights at every position.",
        "Each output channel has its own k x k kernel for every input channel: how many numbers is that per "
        "output channel, and for all c_out of them?",
        "There is one bias per output channel, not one per input channel or per kernel: add c_out biases to "
        "the k * k * c_in * c_out weights.",
    ),
    "lesson02.conv2d_strided": (
        "Two changes to the plain convolution: first surround the image with `padding` rows and columns of "
        "zeros on every side, then move the window `stride` pixels at a time instead of 1.",
        "`F.pad(image, (p, p, p, p))` pads the last two dimensions (left, right, top, bottom). The output has "
        "conv_output_size(H, kh, p, s) rows and as many columns as the same formula gives for W and kw.",
        "Output pixel (i, j) is the window of the PADDED image whose top-left corner is at row i * stride and "
        "column j * stride: slice kh rows and kw columns from there, multiply by the kernel and sum.",
    ),
    "lesson02.conv2d_backward": (
        "Start from the forward formula y[i, j] = sum over a, b of image[i + a, j + b] * kernel[a, b] and the chain "
        "rule: dL/dkernel[a, b] sums grad_out[i, j] * dy[i, j]/dkernel[a, b] over every output position (i, j).",
        "dy[i, j]/dkernel[a, b] is image[i + a, j + b], so the kernel's gradient is the image's window at (i, j) "
        "weighted by grad_out[i, j], summed over all (i, j); it has the kernel's shape.",
        "The image's gradient has the image's shape: start from zeros and, for every output (i, j), add "
        "grad_out[i, j] * kernel onto the window it came from (rows i to i + kh, columns j to j + kw).",
    ),
    # --- lesson 03 · pooling and the head --------------------------------------------------------
    "lesson03.max_pool_2x2": (
        "Each output value is the largest of one 2x2 block of non-overlapping pixels, in every image and "
        "channel separately. Values can be negative, so a maximum must never start from 0.",
        "Instead of loops you can give every window its own dimensions: `reshape` can split H into "
        "(H // 2, 2) and W into (W // 2, 2) without changing x.",
        "After reshaping to (N, C, H // 2, 2, W // 2, 2), the two rows of a window are on dim 3 and its two "
        "columns on dim 5. Take the maximum over both at once: `amax` accepts a tuple of dims, while `.max` "
        "takes one dim and returns (values, indices).",
    ),
    "lesson03.flatten_size": (
        "Follow one image through the network keeping track of its side length only: every 3x3 convolution "
        "and every 2x2 max-pool changes it, and the channels end at 256.",
        "Use the two helpers above, `conv_output_size` and `pool_output_size`, in the order of the Net "
        "(conv, conv, pool, conv, conv, pool), starting from `size`, not from 28.",
        "Update one variable, the side, six times, then return the 256 channels times the area of the last "
        "feature map. Test it: 28 must give 4096 and 32 must give 6,400.",
    ),
    "lesson03.ClassifierHead": (
        "The head is two layers with weights and three steps without: flatten, fc1, ReLU, fc2, log_softmax. "
        "Layers with weights are created in `__init__`, the steps happen in `forward`.",
        "fc1 and fc2 are `nn.Linear` layers stored as attributes of self; their sizes follow from the "
        "256 x 4 x 4 input features, the 50 hidden units and the 10 classes.",
        "In `forward`, flatten all dimensions but the batch (`torch.flatten` from dim 1), apply fc1 and "
        "`F.relu`, then fc2, and end with `F.log_softmax` over the classes (dim=1, not the batch dim 0).",
    ),
    "lesson03.Net": (
        "Build it row by row from the table: four 3x3 convolutions, each followed by a ReLU, a 2x2 max-pool "
        "after conv2 and after conv4, then the head of exercise 3.",
        "In `__init__` create four `nn.Conv2d` layers with the table's channels (1 -> 32 -> 64 -> 128 -> 256) "
        "and reuse your `ClassifierHead` (or create its two linear layers again).",
        "In `forward`: conv1, ReLU; conv2, ReLU, pool; conv3, ReLU; conv4, ReLU, pool; then the head, with "
        "`F.max_pool2d(..., 2)` or your `max_pool_2x2`. If a shape goes wrong, `summary(Net())` shows the "
        "first row that differs from the table.",
    ),
    # --- lesson 04 · the training loop -----------------------------------------------------------
    "lesson04.nll_loss": (
        "The loss of one sample is minus the log-probability the network gave to that sample's target class; "
        "the loss of the batch is the mean over its samples.",
        "You need one entry per row, row i and column targets[i]: indexing with two index tensors picks "
        "exactly those, while `log_probs[:, targets]` would pick whole columns.",
        "Index the rows with `torch.arange` over the N samples and the columns with `targets`, then negate "
        "the mean. Don't call `.item()`: `backward()` must still work through the result.",
    ),
    "lesson04.sgd_momentum_step": (
        "Each parameter has its own velocity: FIRST update the velocity with the new gradient, THEN move the "
        "parameter along the new velocity (PyTorch's form, section 3).",
        "Walk through the three lists together with `zip` and build two new lists. A `None` velocity means "
        "the first step, where the velocity is simply (a copy of) the gradient.",
        "Otherwise the new velocity is momentum times the old velocity plus the gradient, and the new "
        "parameter is the old one minus lr times the new velocity: lr is not part of the velocity.",
    ),
    "lesson04.train": (
        "One epoch is one pass over `train_loader`: switch the model to training mode first, then do the "
        "five lines of section 4 for every batch.",
        "Besides training, keep three records across the batches: the list of batch losses, the number of "
        "correct predictions and the number of images seen (the last batch can be smaller).",
        "Per batch: move data and target with `.to(device)`, then zero_grad, forward, `F.nll_loss`, backward, "
        "step; then append `loss.item()` and add the count of `output.argmax(dim=1) == target`.",
        'Wrap the loader in `tqdm(..., desc="train", leave=False)` for the progress bar, and return the '
        "accuracy in percent (100 * correct / images seen) with the list of losses.",
    ),
    "lesson04.test": (
        "Testing is the forward half of training: it measures and never updates, so no zero_grad, backward or step.",
        "Two different switches are needed: `model.eval()` for the layers, and `torch.no_grad()` (or "
        "`torch.inference_mode()`) around the loop for autograd.",
        "Inside the loop: move the batch to `device`, compute the output, append the batch's `F.nll_loss` "
        "(default mean reduction) as a float, and count `output.argmax(dim=1) == target`. Return the percent "
        "correct over ALL images and the list of losses.",
    ),
    # --- lesson 05 · schedules and curves --------------------------------------------------------
    "lesson05.step_lr": (
        "StepLR multiplies the rate by gamma once every step_size calls of `scheduler.step()`, and it is "
        "stepped once at the end of each epoch: count the decays that happened before epoch `epoch` starts.",
        "Epochs count from 1 and epoch 1 trains with base_lr: with step_size 15, epochs 1-15 have seen no "
        "decay and epoch 16 has seen one.",
        "The number of completed decays is (epoch - 1) divided by step_size and rounded down; the rate is "
        "base_lr times gamma to the power of that number.",
    ),
    "lesson05.run_training": (
        "One loop over the epochs 1 to `epochs`, each doing the five steps of the exercise in that order; "
        "`train` and `test` do the work on the batches (`test` on the validation loader).",
        'Read the rate from `optimizer.param_groups[0]["lr"]` BEFORE training the epoch: read after '
        "`scheduler.step()`, it would be the next epoch's rate.",
        "Call `scheduler.step()` once per epoch, after `train` and never per batch. `train` and `test` return "
        "per-batch losses, so the history gets their mean (e.g. `statistics.fmean`).",
        "Create a `History()` before the loop, call its `append` with the keywords train_acc, train_loss, "
        "val_acc, val_loss and lr at the end of every epoch, and return it.",
    ),
    "lesson05.diagnose": (
        "Only the last epoch counts, plus the lowest validation loss of the whole run: read the four numbers the "
        "exercise names, then apply the three rules of the table.",
        "Order matters: test underfitting first, so low training accuracy means 'underfitting' even with a "
        "large gap, and return as soon as a rule applies.",
        "Rule 1: final train accuracy strictly below 97. Rule 2: a train - validation gap strictly above 1.5 "
        "points OR a final validation loss above 1.2 times `min(history.val_loss)`; otherwise 'good fit'.",
    ),
    # --- lesson 06 · the GPU ---------------------------------------------------------------------
    "lesson06.choose_device": (
        "Separate two questions: first, what was asked for (the argument, else $MNIST_DEVICE, else 'auto'); "
        "then, whether that is possible on this machine.",
        "Python's `or` skips None and the empty string alike, so a chain of `or`s picks the first request "
        "that is given; normalize it with `.strip().lower()`.",
        "For 'auto' test cuda before mps before cpu; 'cpu' is always fine; 'cuda' and 'mps' only when their "
        "flag is True. Every other case ends in `raise ValueError(...)`.",
    ),
    "lesson06.move_batch": (
        "Moving a tensor is `.to(device)`, which returns a moved tensor and leaves the old one as it was: "
        "return both moved tensors as a pair.",
        "Only copies to CUDA gain from `non_blocking=True`; decide it from the device's type, not its full "
        "name, since 'cuda:1' is CUDA too.",
        "`torch.device(device).type` is 'cuda' for 'cuda', 'cuda:1' and torch.device('cuda') alike: compute "
        "that comparison once and pass the bool as `non_blocking=` to both `.to` calls.",
    ),
    "lesson06.amp_enabled": (
        "The course uses float16 autocast (and a gradient scaler) on exactly one kind of device: which one?",
        "`device` may be a string such as 'cuda:1' or a `torch.device`: compare the device's type, not its "
        "full name, and return a plain bool.",
        "`torch.device(...)` accepts strings and devices alike, and its `.type` is 'cuda', 'cpu' or 'mps': "
        "return whether that type equals 'cuda'.",
    ),
    "lesson06.load_for_inference": (
        "The returned model must hold the checkpoint's weights, live on `device` and be in evaluation mode: "
        "three separate steps.",
        "The checkpoint may hold CUDA tensors: `torch.load` with `map_location=device` (and "
        "`weights_only=True`) puts them on your device, and the weights are under the key 'model'.",
        "Create a fresh `Net()`, load the weights into it with `load_state_dict`, then `.to(device)` and "
        "`.eval()`, which both return the model. `mnist_ref.load_checkpoint` can do the loading (give it "
        "`map_location=device` too).",
    ),
    # --- lesson 07 · evaluation ------------------------------------------------------------------
    "lesson07.confusion_matrix": (
        "The matrix counts pairs: entry [t, p] is the number of examples of true class t predicted as p "
        "(rows are true classes, columns predictions), and every class has its row and column.",
        "Start from an all-zero matrix of shape (num_classes, num_classes) with an integer dtype "
        "(`torch.long`), then add one count per example.",
        "Loop over `zip(targets.tolist(), predictions.tolist())` and add 1 at row t, column p. (Vectorized: "
        "`torch.bincount` of t * num_classes + p with minlength num_classes ** 2, reshaped.)",
    ),
    "lesson07.per_class_accuracy": (
        "The accuracy of a class is the share of its examples that were recognized: its diagonal entry over "
        "the sum of its ROW (over the column sum it would be the precision).",
        "`cm.diagonal()` gives all the correct counts and `cm.sum(dim=1)` all the row sums, so one "
        "element-wise division handles every class; multiply by 100 for percent.",
        "cm holds integers: convert to float before dividing, and clamp the row sums to at least 1 "
        "(`.clamp(min=1)`) so that an empty class gives 0.0, not nan.",
    ),
    "lesson07.most_confused_pairs": (
        "The mistakes are the off-diagonal entries: collect every (true, predicted, count) with true != "
        "predicted and a count above 0, then sort them and keep the first k.",
        "Two loops over the classes (or one list comprehension) build the list; convert each count with "
        "`int(...)` so that the tuples hold Python ints, not tensors.",
        "`sorted` with a `key` function that returns a tuple sorts by several criteria in turn: the negated "
        "count first (largest first), then true and predicted ascending. Slice the first k at the end.",
    ),
    "lesson07.misclassified_indices": (
        "Compare the two tensors element by element: the result is a boolean mask that is True exactly at "
        "the mistakes.",
        "`.nonzero()` turns a mask into the positions of its True entries, in ascending order, but with shape (K, 1).",
        "Drop the extra dimension (`.flatten()` or `.squeeze(1)`) to get shape (K,); `torch.where(mask)[0]` "
        "is another way, and both give an empty (0,) tensor when there is no mistake.",
    ),
}
