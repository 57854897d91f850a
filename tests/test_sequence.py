import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rnatools.sequence import (
    encode_indices,
    one_hot,
    one_hot_batch,
    reverse_complement,
    to_dna,
    to_rna,
)

DNA = st.text(alphabet="ACGTNacgtn", max_size=200)


def test_one_hot_channels_and_n_rows():
    x = one_hot("ACGTNacgtU")
    assert x.shape == (10, 4)
    expected = np.array(
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]] * 2, dtype=np.float32
    )
    expected[9] = [0, 0, 0, 1]  # U is T
    np.testing.assert_array_equal(x, expected)


def test_iupac_letters_are_n_not_spliceai_modulo_quirk():
    # SpliceAI 1.3.1 maps R->C and Y->T through ord(c) % 5; rnatools maps them to N.
    x = one_hot("RYKMSWBDHV-.*")
    assert not x.any()
    assert (encode_indices("RY") == 4).all()


def test_one_hot_matches_keras_oracle_for_acgtn(fixtures_dir):
    oracle = np.load(fixtures_dir / "spliceai_keras_oracle.npz")
    seq = str(oracle["seq_N"])
    np.testing.assert_array_equal(one_hot(seq, np.uint8), oracle["x_N"][0])
    chars = oracle["enc_chars"]
    for char, row in zip(chars, oracle["enc_onehot"], strict=True):
        if char.upper() in "ACGTN":
            np.testing.assert_array_equal(one_hot(str(char), np.uint8)[0], row)


def test_one_hot_batch_shape():
    assert one_hot_batch(["ACGT", "NNNN"]).shape == (2, 4, 4)


@given(DNA)
def test_reverse_complement_is_an_involution(seq):
    assert reverse_complement(reverse_complement(seq)) == seq


@given(DNA)
def test_reverse_complement_one_hot_is_flipped_channels(seq):
    # complement swaps A<->T and C<->G: channel order ACGT reversed.
    np.testing.assert_array_equal(one_hot(reverse_complement(seq)), one_hot(seq)[::-1, ::-1])


def test_reverse_complement_example_and_rna():
    assert reverse_complement("AACGTn") == "nACGTT"
    assert to_rna("ACGTt") == "ACGUu"
    assert to_dna("ACGUu") == "ACGTt"


def test_complement_is_not_reversed_and_shares_the_table():
    from rnatools.sequence import complement

    assert complement("ACGTUNacgtn") == "TGCAANtgcan"
    assert complement("RY") == "YR"
    assert complement("A") == "T"


@given(DNA)
def test_reverse_complement_is_reversed_complement(seq):
    from rnatools.sequence import complement

    assert reverse_complement(seq) == complement(seq)[::-1]
