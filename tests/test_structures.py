"""Structure names -> roles for any site: GTVs, organs by site, never OARs, margins or subtractions."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survival_core.errors import RTStructError
from survival_core.io.structures import (
    alternative_gtvs,
    is_nodal_gtv,
    map_roles,
    match_role,
    match_structure,
    structure_label,
    why_not_the_gtv,
    words,
)


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("GTV", "gtv"),
        ("gtv1", "gtv"),
        ("GTVp", "gtv"),
        ("GTVn", "gtv"),
        ("GTV_total", "gtv"),
        ("GTV-1", "gtv"),
        ("GTV-2", "gtv"),
        ("GTV_Mass_CT", "gtv"),
        ("GTV_Mass_MR_T1", "gtv"),
        ("GTV node", "gtv"),
        ("GTV_Esophagus", "gtv"),
        ("Tumor", "gtv"),
        ("tumour", "gtv"),
        ("Lesion 1", "gtv"),
        ("HCC", "gtv"),
        ("mass", "gtv"),
        ("Liver tumor", "gtv"),
        ("lung_nodule", "gtv"),  # the lesion of a lung, not the lung organ
        ("Lung nodule 1", "gtv"),
        ("lung_cancer", "gtv"),
        ("liver_mets", "gtv"),
        ("Tumor No 2", "gtv"),  # 'No' before a number: a number, not a denial
        ("GTV_free_breathing", "gtv"),  # lung RT: the GTV on the free-breathing CT
        ("tumor_free_breathing", "gtv"),
        ("GTV free", "gtv"),
        ("lung_non_tumor", None),  # the lung around the tumour: was united with the GTV
        ("tumor_free_lung", None),
        ("liver_no_tumor", None),
        ("Non-Tumour", None),
        ("nontumor", None),
        ("not_tumor", None),
        ("benign_nodule", None),
        ("liver_hemangioma", None),  # a benign lesion, not the liver organ
        ("Liver", "organ"),
        ("LIVER", "organ"),
        ("liver_total", "organ"),
        ("Whole Liver", "organ"),
        ("whole-liver", "organ"),
        ("Lung-Left", "organ"),
        ("Lung_R", "organ"),
        ("Lungs", "organ"),
        ("Brain", "organ"),
        ("Liver-GTV", None),
        ("liver - gtv", None),
        ("Liver_minus_GTV", None),
        ("liver minus tumour", None),
        ("Lungs-GTV", None),
        ("Lung-GTV", None),
        ("Heart-GTV", None),
        ("PTV", None),
        ("PTV_GTV", None),
        ("CTV_liver", None),
        ("ITV", None),
        ("GTV+5mm", None),
        ("GTV+10", None),  # a margin with no unit: read as lesion 10 of the GTV, and united
        ("GTV + 5", None),
        ("GTV_dilated", None),
        ("GTV expanded", None),
        ("GTV_boost", None),
        ("Tumor_bed", None),
        ("tumour cavity", None),
        ("GTV+LN", "gtv"),  # a union of the GTV and nodes, not a margin
        ("GTVp plus GTVn", "gtv"),  # a union written out
        ("Liver segment 4", None),
        ("Lung_RUL", None),
        ("Portal vein", None),
        ("Heart", None),
        ("Spinal-Cord", None),
        ("SpinalCord", None),
        ("Parotid_L", None),
        ("Brainstem", None),
        ("Brain_Stem", None),
        ("Esophagus", None),
        ("External", None),
        ("BODY", None),
        ("GTV_old", None),
        ("GTV old 2019", None),
        ("GTVp_prev", None),
        ("GTV copy", None),
        ("z_GTV", None),
        ("zz GTV eval", None),
        ("GTV_test", None),
        ("Liver_old", None),
        ("Lesion_tmp", None),
        ("", None),
    ],
)
def test_match_role(name: str, role: str | None) -> None:
    assert match_role(name) == role


def test_organ_sites() -> None:
    assert match_structure("Lung-Left").site == "lung"
    assert match_structure("Liver").site == "liver"
    assert match_structure("Brain").site == "brain"
    # With the case's site known, another site's organ is not the organ.
    assert match_structure("Liver", site="lung") is None
    assert match_structure("Lungs", site="lung").site == "lung"


def test_map_roles() -> None:
    assert map_roles(["Body", "Liver", "GTV", "Liver-GTV"]) == {"gtv": ["GTV"], "organ": ["Liver"]}
    # Several GTVs are all the tumour; left and right lungs make one organ; OARs are left out.
    lung = ["GTV-1", "GTV-2", "Lung-Left", "Lung-Right", "Spinal-Cord", "Heart", "PTV"]
    assert map_roles(lung) == {"gtv": ["GTV-1", "GTV-2"], "organ": ["Lung-Left", "Lung-Right"]}
    assert map_roles(["Body", "GTV"]) == {"gtv": ["GTV"]}
    with pytest.raises(RTStructError, match="several organs could host the tumour"):
        map_roles(["Liver", "Lungs", "GTV"])
    assert map_roles(["Liver", "Lungs", "GTV"], site="lung") == {"gtv": ["GTV"], "organ": ["Lungs"]}
    with pytest.raises(
        RTStructError, match="no structure is recognised as the GTV.*'Body', 'Liver'"
    ):
        map_roles(["Body", "Liver"])
    with pytest.raises(RTStructError, match="no structure is recognised as the organ"):
        map_roles(["Body", "GTV"], required=("gtv", "organ"))
    # a superseded or scratch copy of the GTV is never united with it
    assert map_roles(["GTV", "GTV_old", "z_GTV", "GTV copy"]) == {"gtv": ["GTV"]}


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("Zyxwv_Qwerty_GTV-1", "GTV-1"),
        ("Doe_Z_GTV", "GTV"),  # an initial, not TG-263's scratch mark
        ("GTV_old", "GTV_old"),
        ("DOE_J_Liver_contour", "Liver"),
        ("Smith_T1_19410203", "T1"),
        ("GTV_03_02_1941", "GTV_03"),  # a lesion number, never a date
        ("ID-987654321_GTVp", "GTVp"),
        ("Zyxwv-Qwerty-Liver-Zyxwv-GTV", "Liver-GTV"),  # the subtraction stays one
        ("Lung-Left", "Lung-Left"),
        ("Zyxwv_Qwerty_CT", "CT"),
        ("Zyxwv_Qwerty", ""),
        ("case_0001_0000", ""),
        ("CHUM-001__PT", "PT"),  # HECKTOR's PET, BraTS's contrast T1: the image they are
        ("BraTS20_Training_001_t1ce", "t1ce"),
        ("BraTS-GLI-00000-000-t1n", "t1n"),  # BraTS 2023's sequences stay apart, not 't1', 't1'
        ("BraTS-GLI-00000-000-t1c", "t1c"),
        ("BraTS-GLI-00000-000-t2f", "t2f"),
        ("Doe_T2w_1941", "T2w"),
        ("Zyxwv_GTV+10", "GTV_margin_10"),  # the margin stays a margin in the stored name
        ("Zyxwv_GTV_dilated", "GTV_dilated"),
        ("Doe_lung_non_tumor", "lung_non_tumor"),  # the denial stays: stored as 'lung_tumor' it
        ("Doe_tumor_free_lung", "tumor_free_lung"),  # would be read as the GTV
    ],
)
def test_a_structure_label_keeps_what_the_structure_is_and_nothing_else(name, label) -> None:
    assert structure_label(name) == label


_PIECES = st.sampled_from(
    ["GTV", "gtv", "Liver", "lungs", "PTV", "minus", "sub", "cord", "seg", "mask", "Left", "ring"]
    + ["Zyxwv", "Qwerty", "x", "1", "2", "12", "1941", "03", "-", "_", " ", "+", ".", "5mm"]
    + ["dilated", "bed", "+10", "+ 5", "plus", "R1", "R", "4D", "d", "ph50"]
)


@given(st.lists(_PIECES, max_size=8).map("".join))
def test_a_label_matches_as_its_name_and_holds_only_known_words(name: str) -> None:
    label = structure_label(name)
    for site in (None, "liver", "lung"):
        assert match_structure(label, site) == match_structure(name, site)
    assert not {"zyxwv", "qwerty", "x", "1941"} & set(words(label))


@pytest.mark.parametrize(
    ("name", "role"),
    [
        # a GTV qualified after a hyphen was read as 'GTV minus Lung' and dropped: the node
        # beside it became the tumour
        ("GTV-Lung", "gtv"), ("GTV-LN", "gtv"), ("GTV-HCC", "gtv"), ("GTV-Met1", "gtv"),
        ("GTV - Lung", "gtv"), ("GTVp-Lung", "gtv"), ("GTV-Liver", "gtv"),
        # organ-minus-GTV forms were read as the GTV (the whole organ)
        ("Liver w/o GTV", None), ("Liver_GTV_sub", None), ("Liver_GTV_minus", None),
        ("Lungs_GTV_excl", None), ("Liver_less_GTV", None), ("Liver_outside_GTV", None),
        ("Liver_ohne_GTV", None), ("Liver_sans_GTV", None), ("Lungs_mns_GTV", None),
        ("Liver\u2013GTV", None), ("Liver\u2212GTV", None), ("Lungs-PTV", None),
        ("GTV minus Liver", None), ("GTV_sub_Lung", None), ("GTV without Liver", None),
        ("GTV w/o Brainstem", None),
        # a GTV's rim or hot spot drawn for analysis
        ("GTV_shell", None), ("HotSpot_GTV", None), ("GTV_DVH", None),
        # joined up, and in the languages of European plans
        ("GTVtumor", "gtv"), ("GTVnode", "gtv"), ("Tumeur", "gtv"), ("Lebermetastase", "gtv"),
        ("Leber", "organ"), ("Foie", "organ"), ("Poumons", "organ"), ("Gehirn", "organ"),
        # a word of another script is a qualifier not read: never an organ less the GTV read
        # as the GTV ('Печень-GTV', liver minus GTV, joined the GTV)
        ("\u041f\u0435\u0447\u0435\u043d\u044c-GTV", None), ("GTV_\u65e7", "gtv"),
        # full-width, as a Japanese input method types them
        ("\uff27\uff34\uff36", "gtv"), ("\uff2c\uff29\uff36\uff25\uff32", "organ"),
        ("\uff2c\uff49\uff56\uff45\uff52\uff0d\uff27\uff34\uff36", None),
    ],
)  # fmt: skip
def test_planning_systems_names(name: str, role: str | None) -> None:
    assert match_role(name) == role
    assert match_role(structure_label(name)) == role  # an upload stores the label


@pytest.mark.parametrize(
    ("name", "label"),
    [("z_GTV", "z_GTV"), ("zz_GTVn", "zz_GTVn"), ("Liver_noGTV", "Liver_noGTV"),
     ("Liver w/o GTV", "Liver_minus_GTV"), ("GTV_replan", "GTV_replan"),
     # a word of another script kept as a qualifier without its letters (it may be a name)
     ("GTV_\u65e7", "GTV_other"), ("\u5c71\u7530_GTV", "other_GTV")],
)  # fmt: skip
def test_an_uploads_label_keeps_what_makes_it_no_gtv(name: str, label: str) -> None:
    """'z_GTV.nii.gz' was stored as 'GTV' (then 'GTV-2', united with the GTV) and
    'Liver_noGTV.nii.gz' as 'Liver' (the organ without its tumour)."""
    assert structure_label(name) == label


@pytest.mark.parametrize(
    "names",
    [["Doe_J_GTV_R1", "Doe_J_GTV_R2"], ["GTV", "Doe_GTV_4D"], ["GTV_R_1", "GTV_R_2"],
     ["GTV_ph0", "GTV_ph50"], ["Doe_GTV_1", "Doe_GTV_2"], ["GTVp", "GTVn"], ["GTV_1", "GTV_T1"]],
)  # fmt: skip
def test_an_uploads_label_keeps_the_qualifiers_telling_drawings_apart(names: list[str]) -> None:
    """'GTV_R1.nii.gz' and 'GTV_R2.nii.gz' (two readers') were stored as 'GTV' and 'GTV-2',
    lesions of one GTV, and 'GTV_4D' (a 4D CT's) as 'GTV_4', a lesion: a label tells drawings
    of one tumour from lesions as the names do. An ID's letter and digits stay out."""
    labels = [structure_label(n) for n in names]
    assert len(set(labels)) == len(names)
    assert bool(alternative_gtvs(labels)) == bool(alternative_gtvs(names))
    assert structure_label("Doe_R12345_GTV") == structure_label("Smith_R_19410203_GTV") == "GTV"


def test_drawings_of_one_tumour_are_not_united() -> None:
    """Versions, time points, images and sub-regions of one GTV were united into a tumour larger
    than any; lesions and a primary with its nodes still are."""
    for names in (["GTV", "GTV_replan"], ["GTV_pre", "GTV_post"], ["GTV_CT", "GTV_PET"],
                  ["Enhancing tumor", "Tumor core", "Whole tumor"], ["GTV", "GTV_wk3"]):  # fmt: skip
        assert alternative_gtvs(names) == names
        with pytest.raises(RTStructError, match="look like drawings of one tumour"):
            map_roles(names)
    for names in (["GTV", "GTV_\u65e7"], ["GTV_\u672f\u524d", "GTV_\u672f\u540e"]):
        with pytest.raises(RTStructError, match="look like drawings of one tumour"):
            map_roles(names)  # 'GTV' and 'GTV_old', pre- and post-operative, in Chinese
    for names in (["GTV_1", "GTV_2"], ["GTVp", "GTVn"], ["GTV_1_CT", "GTV_2_CT"]):
        assert alternative_gtvs(names) == []
        assert map_roles(names) == {"gtv": names}
    assert map_roles(["GTV_replan", "Liver"]) == {"gtv": ["GTV_replan"], "organ": ["Liver"]}
    # a sub-region named like the tumour beside other sub-regions (BraTS-style names): the
    # enhancing tumour alone was taken as the GTV, the necrotic core left out without a word
    with pytest.raises(RTStructError, match="'Enhancing tumor', 'Necrotic core', 'Edema' look"):
        map_roles(["Necrotic core", "Edema", "Enhancing tumor"])
    assert map_roles(["GTV", "Edema"]) == {"gtv": ["GTV"]}


@pytest.mark.parametrize(
    "other",
    ["GTV_edit", "GTV_corrected", "GTV_modified", "GTV_new", "GTV_MR", "GTV_DL", "GTV_STAPLE",
     "GTV_reader2", "GTV_4D", "GTV_MIP", "GTV_ph50", "GTV_erode"],
)  # fmt: skip
def test_edits_readers_phases_and_images_of_one_gtv_are_not_united(other: str) -> None:
    """Other drawings of one tumour (an edit, a reader's, a 4D CT's phase, another image, the
    same name twice) were united with the GTV: the user picks."""
    assert alternative_gtvs(["GTV", other]) == ["GTV", other]
    with pytest.raises(RTStructError, match="look like drawings of one tumour"):
        map_roles(["GTV", other])
    # two readers, two phases: told apart by their numbers, never taken for lesions 1 and 2
    assert alternative_gtvs(["GTV_reader1", "GTV_reader2"]) == ["GTV_reader1", "GTV_reader2"]
    assert alternative_gtvs(["GTV_ph0", "GTV_ph50"]) == ["GTV_ph0", "GTV_ph50"]


@pytest.mark.parametrize(
    "rim", ["GTV_Rim", "GTV_Halo", "GTV_peri", "Tumor_peri", "GTV_peritumoral"]
)
def test_a_gtvs_rim_is_never_a_role(rim: str) -> None:
    """A ring around the GTV (its rim, halo, peritumoral zone) was united into the GTV."""
    assert match_role(rim) is None
    assert map_roles(["GTV", rim]) == {"gtv": ["GTV"]}


@pytest.mark.parametrize(
    "names",
    [["GTVp", "GTVn_R2"], ["GTVn_R2", "GTVn_L3"], ["GTV_LN_R4", "GTV_LN_R7"],
     ["GTV_Rib_R5", "GTV_Rib_L7"], ["GTV_R1", "GTV_R2"], ["GTV_T1", "GTV_T2"],
     ["GTV_Liver_T1", "GTV_Liver_T2"], ["GTV-1", "GTV_1"], ["Tumor", "TUMOR"]],
)  # fmt: skip
def test_lesions_named_by_side_and_level_are_united(names: list[str]) -> None:
    """A side and a number (a right level II node, lung station 4R/7, a rib) were read as a
    reader ('R2'), a CT's tumours 1 and 2 ('T1', 'T2') as MR sequences, names written alike as
    one name twice: a primary and its nodes, a liver's lesions, were refused as drawings of one
    tumour. Two drawings of one tumour overlap, which the masks tell (tests/test_role_masks.py)."""
    assert alternative_gtvs(names) == []
    assert map_roles(names) == {"gtv": names}


@pytest.mark.parametrize("name", ["GTV_Chest_Wall", "GTV_Bladder_Wall", "GTV_edge", "GTV_border"])
def test_a_gtv_named_for_where_it_lies_is_the_gtv(name: str) -> None:
    """'Wall', 'edge' and 'border' name where a tumour lies as often as a ring around it: a chest
    wall GTV was set aside as a planning helper. A ring is told by its mask (it wraps the GTV)."""
    assert match_role(name) == "gtv"
    assert map_roles([name]) == {"gtv": [name]}


def test_lesions_and_a_primary_with_its_nodes_are_still_united() -> None:
    for names in (["GTV_1", "GTV_2"], ["GTVp", "GTVn"], ["GTV_T", "GTV_N"], ["GTV_L", "GTV_R"],
                  ["GTV_T1_1", "GTV_T1_2"], ["GTV", "GTV_LN"], ["GTV-1", "GTV-1 (2)"]):  # fmt: skip
        assert map_roles(names) == {"gtv": names}


@pytest.mark.parametrize(
    "name", ["GTVnodes", "GTVnL", "GTVnR", "GTVnL2", "GTVmets", "GTVprimary", "GTVnodal"]
)
def test_a_gtv_glued_to_what_it_holds_is_the_gtv(name: str) -> None:
    """'GTVnodes', 'GTVnL2' were one word, no GTV word: left out of the GTV's union beside
    'GTVp' and 'GTVn2' with nothing said, while 'GTV_nodes' and 'GTVn_L2' were united."""
    assert match_role(name) == "gtv"
    assert match_role(structure_label(name)) == "gtv"  # an upload stores the label
    assert map_roles(["GTVp", name, "GTVn2"]) == {"gtv": ["GTVp", name, "GTVn2"]}


def test_a_refusal_finding_no_gtv_says_why_each_target_was_set_aside() -> None:
    """An 'IGTV' alone (a 4D CT's motion envelope) got 'No structure is recognised as the GTV'
    with nothing saying why, which reads as a bug."""
    from survival_core.io.role_masks import _missing

    message = str(_missing("gtv", ["IGTV", "GTV_old", "Lungs-GTV", "Heart"], "lung"))
    assert "'IGTV' (a margin, motion envelope (ITV, IGTV) or planning helper)" in message
    assert "'GTV_old' (a superseded version" in message
    assert "'Lungs-GTV' (another structure less the GTV)" in message
    assert "Heart" not in message.split("Set aside")[1]
    assert why_not_the_gtv("GTV") is None and why_not_the_gtv("Lungs") is None


def test_the_advice_names_a_datastores_saved_label_not_its_original() -> None:
    """A MONAI Label datastore's case holds 'label' (saved, edited) and 'label_original' (the
    model's output before the edit): the example named the latter."""
    from survival_core.io.structures import say_which

    assert '["label.nii.gz"]' in say_which(["label.nii.gz", "label_original.nii.gz"])
    assert '["label.nii.gz:2"]' in say_which(["label.nii.gz:1", "label.nii.gz:2"])


@pytest.mark.parametrize(
    ("names", "example"),
    [(["Lung_L", "PRV_Cord", "Ring_5mm", "z_Tumor", "Lungs-GTV", "liver_non_tumor"],
      "<the tumour's structure>"),
     (["label.nii.gz:2", "PTV_70", "CTV"], "label.nii.gz:2")],
)  # fmt: skip
def test_the_advice_never_names_a_structure_set_aside(names: list[str], example: str) -> None:
    """A PTV, ring, PRV, scratch copy or subtraction was offered as the GTV's example (a PTV
    is counted among no organ's names): copying it loaded a margin as the tumour."""
    from survival_core.io.structures import say_which

    assert f"{json.dumps({'gtv': [example]})})." in say_which(names)


LESS_THE_GTV = "another structure less the GTV"
HELPER = "a margin, motion envelope (ITV, IGTV) or planning helper"


@pytest.mark.parametrize(
    ("name", "role", "why"),
    [("LUNG1-001_GTV-1", "gtv", None), ("skin_tumor", "gtv", None), ("Skin lesion", "gtv", None),
     ("melanoma_skin", "gtv", None),
     ("Liver-GTV", None, LESS_THE_GTV), ("Lung-GTV", None, LESS_THE_GTV),
     ("Liver_minus_GTV", None, LESS_THE_GTV), ("Body-GTV", None, LESS_THE_GTV),
     ("Skin_GTV_sub", None, LESS_THE_GTV), ("BODY", None, HELPER), ("Skin", None, HELPER),
     ("PTV", None, HELPER), ("Ring_5mm", None, HELPER), ("Skin_Tumor_avoid", None, HELPER),
     ("z_GTV", None, "a superseded version, copy or scratch structure")],
)  # fmt: skip
def test_a_patients_id_or_the_skin_beside_a_tumour_word_is_neither_organ_nor_outline(
    name: str, role: str | None, why: str | None
) -> None:
    """NSCLC-Radiomics' 'LUNG1-001_GTV-1' (patient LUNG1-001's GTV-1) was read as the lung less
    the GTV, 'skin_tumor' and 'melanoma_skin' as the body outline, a helper: named as the GTV,
    each was warned of as no tumour. An ID is no organ; the skin beside a tumour word is its
    site ('melanoma_skin' is the GTV: a melanoma is a tumour word). A subtraction, also from the
    outline, a margin and a copy are still warned of."""
    _assert_read_as(name, role, why)


def _assert_read_as(name: str, role: str | None, why: str | None) -> None:
    """``name`` and its upload's label have ``role``; named as the GTV, its mask file is warned
    of as ``why`` (None: no warning)."""
    from survival_core.io.structures import chosen_gtv_caution

    assert match_role(name) == role
    assert match_role(structure_label(name)) == role
    caution = chosen_gtv_caution(f"{name}.nii.gz")
    assert caution == (
        None
        if why is None
        else f"'{name}.nii.gz', given as the GTV, reads as {why}, not a tumour: its features "
        "describe that structure, not the tumour. Name the tumour's own contour as the GTV if "
        "the case has one."
    )


@pytest.mark.parametrize(
    ("name", "role", "why"),
    [("Liver2-GTV", None, LESS_THE_GTV), ("Kidney1-GTV", None, LESS_THE_GTV),
     ("Parotid2-GTV", None, LESS_THE_GTV), ("Esophagus1-GTV", None, LESS_THE_GTV),
     ("Lung1-GTV", None, LESS_THE_GTV), ("Lung2-GTV", None, LESS_THE_GTV),
     ("Lung1_R-GTV", None, LESS_THE_GTV), ("Body2-GTV", None, LESS_THE_GTV),
     ("LUNG1-001_GTV-1", "gtv", None), ("LUNG1-001-GTV", "gtv", None),
     ("HN1-001 GTV", "gtv", None), ("HN-CHUS-001 GTV", "gtv", None)],
)  # fmt: skip
def test_an_organ_numbered_less_the_gtv_is_no_patients_id(
    name: str, role: str | None, why: str | None
) -> None:
    """'Liver2-GTV', 'Lung1_R-GTV' (an organ's name with a digit, less the GTV) were read as a
    patient's ID before the GTV and taken as the GTV: beside the GTV, united with it, they
    made it nearly the whole liver. Only letters and digits followed by a patient's number
    ('LUNG1-001') are an ID."""
    from survival_core.io.structures import role_candidates

    _assert_read_as(name, role, why)
    assert role_candidates(["GTV", "Liver", name]).gtv == ["GTV"] + [name] * (role == "gtv")


@pytest.mark.parametrize(
    ("name", "role", "why"),
    [("GTV-Skin", None, HELPER), ("GTV_minus_Skin", None, HELPER), ("GTV w/o skin", None, HELPER),
     ("Body_GTV", None, HELPER), ("GTV_Body", None, HELPER), ("Body_tumor", None, HELPER),
     ("tumor_body", None, HELPER), ("Sarcoma_body", None, HELPER),
     ("Skin-GTV", None, LESS_THE_GTV), ("Body minus GTV", None, LESS_THE_GTV),
     ("skin_lesion", "gtv", None), ("GTV_Skin", "gtv", None), ("Skin_GTV-1", "gtv", None)],
)  # fmt: skip
def test_a_gtv_cropped_off_the_skin_or_beside_the_body_is_a_helper(
    name: str, role: str | None, why: str | None
) -> None:
    """Once the skin and body beside a tumour word were read as its site, 'GTV-Skin' and
    'GTV_minus_Skin' (a GTV cropped off the skin) and 'Body_GTV', 'Body_tumor' (the body
    outline) were taken as the GTV and united with it. A GTV less the skin is a helper, the
    body the outline; only the skin beside a tumour word with no minus is its site."""
    from survival_core.io.structures import role_candidates

    _assert_read_as(name, role, why)
    assert role_candidates(["GTV", name]).gtv == ["GTV"] + [name] * (role == "gtv")


@pytest.mark.parametrize(
    ("name", "role", "why"),
    [("Sarcoma", "gtv", None), ("Liposarcoma", "gtv", None), ("Melanoma", "gtv", None),
     ("Lymphoma", "gtv", None), ("Glioma", "gtv", None), ("Glioblastoma", "gtv", None),
     ("GBM", "gtv", None), ("Brain_GBM", "gtv", None), ("Brain_Glioma", "gtv", None),
     ("Mesothelioma", "gtv", None), ("Myeloma", "gtv", None),
     ("Brain-GBM", None, LESS_THE_GTV), ("Liver-Sarcoma", None, LESS_THE_GTV),
     ("Sarcoma_PTV", None, HELPER), ("Adenoma", None, None), ("Liver_adenoma", None, None),
     ("Hemangioma", None, None), ("Meningioma", None, None), ("Brain_Meningioma", None, None)],
)  # fmt: skip
def test_a_malignant_tumour_named_by_its_kind_is_the_gtv_a_benign_one_is_not(
    name: str, role: str | None, why: str | None
) -> None:
    """'Sarcoma', 'GBM', 'Melanoma' named no GTV word: a sarcoma's or glioblastoma's only
    contour so named was not found as the tumour, and 'Brain_Glioma' read as the brain organ,
    'Liver_adenoma' as the liver. A malignant tumour's kind is the GTV; a benign tumour (an
    adenoma, a haemangioma, a meningioma: the GTV only where a user names it) is neither the
    GTV nor its organ; an organ less such a tumour is a subtraction."""
    _assert_read_as(name, role, why)


def test_tumour_kinds_leave_organs_and_organs_at_risk_alone() -> None:
    """Beside 'GBM', the brain is still the organ and the brainstem an organ at risk."""
    assert map_roles(["Brain", "Brainstem", "GBM", "Meningioma"]) == {
        "gtv": ["GBM"],
        "organ": ["Brain"],
    }


@pytest.mark.parametrize(
    ("name", "role", "why"),
    [("Liver_GTV-", "gtv", None), ("GTV_Liver-", "gtv", None), ("Lung_tumor -", "gtv", None),
     ("GTV-", "gtv", None), ("Liver-", "organ", None), ("Liver-GTV-", None, LESS_THE_GTV),
     ("Liver_GTV_sub", None, LESS_THE_GTV), ("Liver_GTV minus", None, LESS_THE_GTV)],
)  # fmt: skip
def test_a_hyphen_last_is_no_minus(name: str, role: str | None, why: str | None) -> None:
    """'Liver_GTV-' (a GTV of the liver, a hyphen typed last) read as the liver less the GTV,
    set aside, while its stored label 'Liver_GTV' read as the GTV. A hyphen with nothing after
    it subtracts nothing; a minus word last ('_sub', 'minus') still does."""
    _assert_read_as(name, role, why)


@pytest.mark.parametrize(
    ("name", "nodal"),
    [("GTVn", True), ("gtvn.nii.gz", True), ("GTV_N", True), ("GTV-N2", True), ("GTVnd", True),
     ("GTV node", True), ("GTV_LN_R4", True), ("GTVnodes", True), ("GTVp", False),
     ("GTV-P", False), ("GTVnx", False), ("GTVp_N", False), ("GTV_1", False), ("LN", False),
     ("GTV_nL", True), ("GTV_NR", True), ("GTV_Lymphknoten", True), ("GTV_ganglion", True),
     ("GTV_linfonodo", True), ("GTV_RPN", True), ("GTV_NX_ND", False), ("GTV_NP+N", False),
     ("GTV_Nasal_N", False), ("GTV_tumor_N", False)],
)  # fmt: skip
def test_a_nodal_gtv_is_told_from_the_primary(name: str, nodal: bool) -> None:
    """Head-and-neck (and nasopharyngeal: 'GTVnx', 'GTVnd') plans name the nodes' GTV apart from
    the primary's; 'GTVnx' and 'GTVnd' were no GTV at all. 'LN' alone is no GTV."""
    assert is_nodal_gtv(name) is nodal
    assert match_role(name) == (None if name == "LN" else "gtv")
