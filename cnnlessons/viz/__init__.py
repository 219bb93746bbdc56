"""Figures for the course: convolution geometry, channels, learned features, training.

Every function draws one figure with pyplot and returns it as a
:class:`matplotlib.figure.Figure`; none of them calls ``plt.show()``. As with any
pyplot figure:

* in a notebook, Jupyter shows it at the end of the cell. End the call with a
  semicolon (``plot_history(history);``) or assign it (``fig = plot_history(history)``):
  a bare call on the last line would also display the returned value, so the figure
  would appear twice;
* in a script, ``plt.show()`` or ``fig.savefig("history.png")``, then ``plt.close(fig)``
  when drawing many figures.

One module per topic, all re-exported here (``viz.plot_pooling``):

* :mod:`~cnnlessons.viz.footprint`: ``plot_kernel_footprint``, where a kernel's taps
  land on the padded input;
* :mod:`~cnnlessons.viz.channels`: ``plot_channel_sum``, ``plot_feature_maps``,
  ``plot_kernels``;
* :mod:`~cnnlessons.viz.pooling`: ``plot_pooling``, ``plot_shift_tolerance``;
* :mod:`~cnnlessons.viz.architecture`: ``plot_architecture`` (and the boxes it draws,
  ``architecture_boxes``), a network as boxes with their output shapes;
* :mod:`~cnnlessons.viz.training`: ``plot_history``, ``plot_confusion_matrix``,
  ``plot_misclassified``;
* :mod:`~cnnlessons.viz.backward`: ``plot_input_gradient`` (and the numbers it draws,
  ``input_gradient_steps``), a convolution's input gradient step by step;
* :mod:`~cnnlessons.viz.style`: the colours and sizes shared by every figure
  (``CMAP_SIGNED``, ``CMAP_RATE``, ``CMAP_IMAGE``, ``PALETTE``, ``MAX_WIDTH``, ...), so
  that a colour means the same thing everywhere.

Arguments are torch tensors (NumPy arrays work too); they are detached and copied to
host memory as float64 for drawing, whatever their device or dtype.
"""
from __future__ import annotations

from cnnlessons.viz import architecture, backward, channels, footprint, pooling, style, training

#: The topic modules in the order of the chapters, then the shared style. Nothing is
#: listed by hand: the package holds the names in each module's ``__all__``, so a new
#: figure joins by being listed in its module's.
TOPIC_MODULES = (footprint, channels, pooling, architecture, training, backward, style)

_PUBLIC = {name: getattr(module, name) for module in TOPIC_MODULES for name in module.__all__}
globals().update(_PUBLIC)
__all__ = list(_PUBLIC)
