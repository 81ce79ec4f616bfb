"""Structure names -> roles, for any cancer site: which contours are the tumour, which the organ.

Names come from RTSTRUCT ROIs, SEG segments or mask file names, written by people and planning
systems at other sites, so matching is case-insensitive and works on the name's words
("GTV_Mass_CT" -> gtv, mass, ct):

- ``gtv``: GTV, GTVp, GTVn, GTV-1, GTV_2, GTV_Mass*, tumour/tumor, lesion, HCC, mass, neoplasm,
  nodule, cancer/carcinoma, metastasis/met ("lung_nodule", "liver_mets": the lesion, not the organ),
  a malignant tumour's kind (sarcoma, melanoma, lymphoma, glioma, GBM, mesothelioma, myeloma).
  Several GTV structures are all the tumour: the loader unites them (or keeps lesions apart, see
  :mod:`survival_core.features.lesions`).
- ``organ``: the organ of a site (:data:`SITE_ORGANS`): liver; lung/lungs (Lung-Left and Lung-Right
  are one lung organ, united); brain; kidney; pancreas; prostate. With a known site only that
  site's organ names count.

Never a role: margins and helpers (PTV, CTV, ITV, PRV, rings, "+5mm", "GTV+10", dilated or
expanded copies, boost volumes, a tumour bed or cavity, opt, avoid; the body outline or skin, but
the skin beside a tumour word with no minus is its site: "skin_tumor", not "GTV-Skin"), superseded
versions, copies and scratch structures ("GTV_old", "GTV copy", TG-263's "z_GTV"), subtractions
("Lung-GTV", "Liver2-GTV", "liver minus tumour"; not a patient ID's "LUNG1-001_GTV-1"), denials
("liver_non_tumor", "tumor-free lung"), organs at risk (cord, heart, parotid, brainstem...), and
parts of an organ (segments, lobes, vessels, nodes, cysts) and benign tumours (haemangioma,
adenoma, meningioma).

A mask file's name often carries the patient's name too ("Doe_John_GTV.nii.gz"):
:func:`structure_label` keeps only the words above (and those of image and mask names), which is
all the matching reads, so uploads are stored under it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from survival_core.case import LEGACY_ROLES
from survival_core.errors import RTStructError
from survival_core.io.headers import folded
from survival_core.io.volume import is_volume_file, volume_stem

GTV_WORDS = frozenset(
    {
        "gtv",
        "gtvp",
        "gtvt",
        "gtvn",
        # nasopharyngeal carcinoma's plans: 'GTVnx' the primary, 'GTVnd' the nodes
        "gtvnx",
        "gtvnd",
        "tumor",
        "tumour",
        "tumors",
        "tumours",
        "lesion",
        "lesions",
        "hcc",
        "mass",
        "neoplasm",
        "nodule",
        "nodules",
        "cancer",
        "carcinoma",
        "met",
        "mets",
        "metastasis",
        "metastases",
        # joined up ('GTVtumor', 'GTVnode', 'GTVLN'), and French, German, Italian, Spanish
        "gtvtumor",
        "gtvtumour",
        "gtvnode",
        "gtvln",
        "gtvtot",
        "tumeur",
        "tumore",
        "metastase",
        "metastasen",
        "lebermetastase",
        "lebermetastasen",
        # a malignant tumour named by its kind: the tumour of a site with no GTV word in use
        # ('Sarcoma' on a sarcoma's CT, 'GBM' on a glioblastoma's MR)
        "melanoma",
        "melanomas",
        "sarcoma",
        "sarcomas",
        "osteosarcoma",
        "chondrosarcoma",
        "liposarcoma",
        "leiomyosarcoma",
        "rhabdomyosarcoma",
        "adenocarcinoma",
        "lymphoma",
        "lymphomas",
        "glioma",
        "gliomas",
        "glioblastoma",
        "gbm",
        "astrocytoma",
        "oligodendroglioma",
        "mesothelioma",
        "myeloma",
        "plasmacytoma",
    }
)
#: Words denying the GTV word beside them ('non_tumor', 'no tumour', 'without tumor'; 'tumor
#: free' after it: the tissue around the tumour), or making it no tumour ('benign nodule').
_NEGATION_WORDS = frozenset(
    {"non", "no", "not", "without", "wo", "excl", "excluding", "benign", "regenerative"}
)
_FREE = "free"
#: A GTV word and its denial written as one word ('nontumour', 'NoTumour', 'tumorfree').
_DENIED_AS_ONE_WORD = frozenset(
    {f"{no}{word}" for word in GTV_WORDS for no in ("non", "no")}
    | {f"{word}{_FREE}" for word in GTV_WORDS}
)
#: The GTV's own names: 'GTV free' is no denial (a 'GTV_free_breathing' is the GTV).
_GTVS = frozenset({"gtv", "gtvp", "gtvt", "gtvn", "gtvnx", "gtvnd"})
#: A lung's names, in the languages of European plans too.
_LUNG_WORDS = frozenset(
    {"lung", "lungs", "wholelung", "lungtotal", "poumon", "poumons", "lunge", "lungen", "polmone",
     "polmoni", "pulmon", "pulmones"}
)  # fmt: skip
#: Organ names of each site; the site is the organ that hosts the tumour.
SITE_ORGANS: dict[str, frozenset[str]] = {
    "liver": frozenset({"liver", "wholeliver", "hepar", "leber", "foie", "fegato", "higado"}),
    "lung": _LUNG_WORDS,
    "brain": frozenset({"brain", "cerebrum", "gehirn", "cerveau", "cervello", "cerebro"}),
    "kidney": frozenset({"kidney", "kidneys"}),
    "pancreas": frozenset({"pancreas"}),
    "prostate": frozenset({"prostate"}),
}
#: Sites a user may name; sites without an organ contour convention have no organ names.
SITES = (*SITE_ORGANS, "head_and_neck", "sarcoma", "breast", "other")
_ORGAN_WORDS = frozenset().union(*SITE_ORGANS.values())
#: MR sequences as file names give them (BraTS 2021's t1ce, BraTS 2023's t1c, t1n, t2w, t2f).
MR_SEQUENCES = frozenset({"t1", "t1c", "t1ce", "t1gd", "t1n", "t1w", "t2", "t2f", "t2w"})
#: Margins, helpers and planning structures: never a role.
_HELPER_WORDS = frozenset(
    {
        "ptv",
        "ctv",
        "itv",
        "igtv",
        "prv",
        "ring",
        "opt",
        "avoid",
        "margin",
        "expand",
        "exp",
        "mm",
        "cm",
        "dose",
        "external",
        "body",
        "skin",
        "outline",
        "couch",
        "support",
        "marker",
        "markers",
        "isocenter",
        "iso",
        "dilated",
        "dilate",
        "dilation",
        "expanded",
        "expansion",
        "boost",
        "sib",
        "bed",
        "cavity",
        # a part of the GTV drawn for planning or analysis: its rim, hottest or coldest part,
        # and the tissue around it (a peritumoral ring: 'GTV_Rim', 'GTV_Halo', 'Tumor_peri')
        "shell",
        "rim",
        "halo",
        "peri",
        "peritumoral",
        "peritumour",
        "peritumor",
        "peritumoural",
        "hot",
        "hotspot",
        "cold",
        "dvh",
    }
)
#: The patient's outline: a helper ('Body_GTV' too), or what a subtraction takes the GTV from
#: ('Body-GTV').
_OUTLINE_WORDS = frozenset({"skin", "body"})
#: The skin beside a tumour word is the tumour's site ('skin_tumor', 'melanoma_skin', 'Skin
#: lesion'), no outline; after a GTV and a minus it is what the GTV is cropped off ('GTV-Skin').
_SKIN = "skin"
#: Superseded versions, copies and scratch structures: never a role (uniting "GTV_old" with the
#: GTV would change the tumour). TG-263 starts a structure not used clinically with "z"; a mask
#: file's label keeps that letter where it starts the name ('z_GTV'), not further on, where it
#: may be a patient's initial.
_SCRATCH_LETTERS = frozenset({"z", "zz"})
_SCRATCH_WORDS = _SCRATCH_LETTERS | frozenset(
    {
        "old",
        "prev",
        "previous",
        "superseded",
        "obsolete",
        "copy",
        "bak",
        "backup",
        "temp",
        "tmp",
        "draft",
        "test",
        "dummy",
        "wrong",
        "delete",
        "ignore",
    }
)
#: Words telling one GTV from another drawing of the same tumour: a version or an edit, a time
#: point or a breathing phase, an image or a tool it was drawn on, a reader, a dose level, a
#: sub-region ('GTV' and 'GTV_replan', 'GTV_edit', 'GTV_pre' and 'GTV_post', 'GTV_CT' and
#: 'GTV_PET', 'GTV_DL', 'GTV_STAPLE', 'GTV_MIP', 'Enhancing tumor' and 'Whole tumor'). One such
#: GTV alone is the GTV; GTVs that differ by these words are never united (their union is no
#: tumour): the user picks (:func:`alternative_gtvs`). Numbered GTVs ('GTV_1_CT', 'GTV_2_CT')
#: are lesions, united.
_ALTERNATIVE_WORDS = frozenset(
    {"replan", "replanning", "rev", "revised", "orig", "original", "initial", "final", "v",
     "version", "new", "edit", "edited", "corrected", "correction", "modified", "mod",
     "adjusted", "adj", "updated", "wk", "week", "fx", "fraction", "cbct", "pre", "post",
     "preop", "postop", "baseline", "followup", "fu", "auto", "manual", "ai", "dl", "deep",
     "nnunet", "predicted", "pred", "prediction", "staple", "consensus", "reader", "rater",
     "observer", "obs", "annotator", "phase", "ph", "mip", "aip", "minip", "avg", "average",
     "inhale", "exhale", "erode", "eroded", "erosion", "gy", "cgy", "ct", "cect", "mr", "mri",
     "pet", "pt", "enhancing", "core", "whole", "necrotic", "necrosis", "edema", "oedema",
     "solid", "cystic", "other"}
)  # fmt: skip
#: Qualifiers glued to a number, read as one ('GTV_reader1' and 'GTV_reader2' are two readers'
#: drawings, 'GTV_ph0' and 'GTV_ph50' two breathing phases, 'GTV_4D' a 4D CT's). A bare 'R' is
#: no reader ('GTVn_R2' is a right level II node, 'GTV_Rib_R5' a rib), nor 'T1' an MR sequence
#: ('GTV_T1', 'GTV_T2': a CT's tumours 1 and 2): lesions to unite; two readers' 'GTV_R1' and
#: 'GTV_R2', or the tumour on T1 and T2, overlap, which the masks tell (role_masks).
_QUALIFIER_WORDS = "reader|rater|observer|obs|annotator|ph|phase"
_GLUED_QUALIFIER = re.compile(rf"(?<![a-z])(?:(?:{_QUALIFIER_WORDS})[_ ]?\d+|\d+d)(?![a-z\d])")
#: Words of a tumour's sub-region (BraTS's enhancing tumour, necrotic core, oedema).
_SUB_REGION_WORDS = frozenset(
    {"enhancing", "core", "necrotic", "necrosis", "edema", "oedema", "solid", "cystic"}
)
#: Benign tumours, often drawn beside the tumour treated (a liver's haemangioma or adenoma): a
#: lesion in an organ, neither the organ nor by name the GTV. A meningioma, though often the
#: target treated, is mostly benign (WHO grade 1) and drawn beside other brain tumours too:
#: united with a GTV it would change the tumour, so it is the GTV only where a user names it.
_BENIGN_TUMOUR_WORDS = frozenset(
    {"hemangioma", "haemangioma", "hemangiomas", "haemangiomas", "angioma", "adenoma", "adenomas",
     "meningioma", "meningiomas"}
)  # fmt: skip
#: Parts of an organ: never the whole organ (they may still name a tumour, e.g. "GTV node").
_PART_WORDS = frozenset(
    {
        "segment",
        "seg",
        "lobe",
        "lobes",
        "rul",
        "rml",
        "rll",
        "lul",
        "lll",
        "lingula",
        "hilum",
        "vessel",
        "vessels",
        "vein",
        "veins",
        "artery",
        "portal",
        "duct",
        "ducts",
        "cyst",
        "cysts",
        *_BENIGN_TUMOUR_WORDS,
        "node",
        "nodes",
        "bed",
        "stem",
    }
)
#: Organs at risk and other anatomy: a name holding one of these is never a role.
_OAR_WORDS = frozenset(
    {
        "cord",
        "spinalcord",
        "spinal",
        "heart",
        "parotid",
        "brainstem",
        "chiasm",
        "optic",
        "cochlea",
        "mandible",
        "larynx",
        "trachea",
        "esophagus",
        "oesophagus",
        "bowel",
        "stomach",
        "duodenum",
        "bladder",
        "rectum",
        "femur",
        "femoral",
        "lens",
        "eye",
        "globe",
        "hippocampus",
        "pituitary",
        "thyroid",
        "submandibular",
        "cavity",
        "lips",
        "bronchus",
        "bronchi",
        "rib",
        "ribs",
        "chestwall",
        "spleen",
    }
)
#: What volume files may hold (they carry no modality; a PT volume must be in SUVbw).
VOLUME_MODALITIES = ("CT", "MR", "PT")
#: File stems (lower case) that name the image in a volume case folder.
IMAGE_STEMS = ("image", "ct", "img", "volume", "scan")
#: Words of a volume file's name, or folder names, that mark a mask.
MASK_WORDS = frozenset(
    {
        "mask",
        "masks",
        "label",
        "labels",
        "labelstr",
        "labelsts",
        "seg",
        "segmentation",
        "roi",
        "rois",
    }
)
#: Folder names that hold the image in a volume case folder laid out in subfolders.
IMAGE_FOLDERS = frozenset(
    {"image", "images", "imagestr", "imagests", "img", "ct", "mr", "scan", "volume"}
)
_COMBINING_WORDS = (
    GTV_WORDS | _ORGAN_WORDS | _OAR_WORDS | {"ptv", "ctv", "itv", "vessel", "vessels"}
)
#: What a GTV may be taken from: an organ, an organ at risk, a target, the outline ('Body-GTV').
_TAKEN_FROM_WORDS = _COMBINING_WORDS | _OUTLINE_WORDS
_MINUS_WORDS = (
    "minus", "mns", "sub", "not", "without", "excl", "excluding", "exc", "wo", "less", "outside",
    "ohne", "sans",
)  # fmt: skip
#: A minus: a hyphen, or a minus written out.
_MINUS = re.compile(r"-|(?<![a-z])(?:" + "|".join(_MINUS_WORDS) + r")(?![a-z])")
#: Minus signs other than '-' (an en dash, Unicode's minus), and 'w/o' ('Liver w/o GTV').
_OTHER_MINUS = re.compile(r"[\u2013\u2212]")
_WITHOUT = re.compile(r"\bw/o\b", re.IGNORECASE)


def _minus_spelled(text: str) -> str:
    """``text`` with other minus signs as '-' and 'w/o' as the word 'minus' (after a GTV a
    hyphen qualifies it, a minus written out subtracts: 'GTV w/o Brainstem' is no GTV)."""
    return _WITHOUT.sub(" minus ", _OTHER_MINUS.sub("-", text))


#: Every word a structure's name is read by: de-identification never cuts them from a name (a
#: research cohort's PatientName 'LIVER_017' would have emptied the ROI 'Liver').
STRUCTURE_WORDS = frozenset(
    {*_COMBINING_WORDS, *_HELPER_WORDS, *_PART_WORDS, *_NEGATION_WORDS,
     *MASK_WORDS, *(_SCRATCH_WORDS - _SCRATCH_LETTERS), *_MINUS_WORDS,
     *(w for w in _ALTERNATIVE_WORDS if len(w) > 2)}
)  # fmt: skip
#: Words a structure label keeps besides those above: sides, kinds of lesion, kinds of image.
_LABEL_EXTRA_WORDS = frozenset(
    {
        "left",
        "right",
        "primary",
        "mr",
        "mri",
        "pet",
        "pt",
        "suv",
        "ce",
        "gd",
        "cect",
        "imaging",
        "cbct",
        "t",
        "flair",
        "dwi",
        "adc",
        "contrast",
        "arterial",
        "venous",
        "delayed",
        "native",
        "pre",
        "post",
    }
)
_LABEL_WORDS = frozenset(
    {
        *GTV_WORDS,
        *_ORGAN_WORDS,
        *_HELPER_WORDS,
        *(_SCRATCH_WORDS - _SCRATCH_LETTERS),
        *_PART_WORDS,
        *_OAR_WORDS,
        *_MINUS_WORDS,
        *_NEGATION_WORDS,
        *_DENIED_AS_ONE_WORD,
        *_ALTERNATIVE_WORDS,
        _FREE,
        *IMAGE_STEMS,
        *MASK_WORDS,
        *IMAGE_FOLDERS,
        *MR_SEQUENCES,
        *_LABEL_EXTRA_WORDS,
    }
)
#: A run of letters of another script than Latin: a word RadSurv does not read ('GTV_旧', old).
_OTHER_SCRIPT = r"[^\W\d_A-Za-z]+"
#: What such a word stands as in words and labels: a qualifier not read, kept without its letters
#: (it may be a patient's name), so that 'GTV' and 'GTV_旧' are told apart (never united).
_UNREAD = "other"
#: Where a case says which structures fill its roles, which a refusal asking for them names (an
#: import replaces it with its ROI map): score, explain, report and extract have no option for it.
WHERE_TO_SAY = (
    "on the Case page, by its role choice; for a case folder (score, extract), in a roles.json "
    "beside its files"
)
#: Most digits of a number a label keeps (a lesion's: GTV-1, GTV_12; never an ID or a date).
_LABEL_NUMBER_DIGITS = 2
#: A patient's ID: letters run into digits, then a number longer than a lesion's (NSCLC-Radiomics'
#: 'LUNG1-001'), with the separators after it. Its hyphens are no minus ('LUNG1-001_GTV-1' is
#: that patient's GTV-1, not the lung less it); an organ's name with a digit is no ID
#: ('Liver2-GTV', 'Lung1_R-GTV': another structure less the GTV).
_ID_TOKEN = re.compile(
    rf"(?<![a-z\d])([a-z]+\d+)[-_ ]\d{{{_LABEL_NUMBER_DIGITS + 1},}}(?![a-z\d])[-_ ]*",
    re.IGNORECASE,
)
#: A GTV's name glued to what it holds, a node, metastases, the primary or a side ('GTVnodes',
#: 'GTVnodal', 'GTVmets', 'GTVprimary', 'GTVnL2'): read as two words, as 'GTV_nodes' is (as one,
#: no word of a GTV, such a node was left out of the GTV's union).
_GLUED_GTV = re.compile(r"(gtv[pnt]?)(nodes|nodal|node|mets|met|primary|prim|l|r)")
#: Label tokens: an MR sequence as one word (so 't1n' is not cut to 't1'), words, numbers, '-'.
_SEQUENCE_TOKEN = "|".join(sorted(MR_SEQUENCES, key=len, reverse=True))
#: A '+' before a number: a margin ('GTV+10', 'GTV + 5'), not 'GTV+LN' (a union).
_MARGIN_PLUS = re.compile(r"\+(?=[\s_]*\d)")
#: A reader's (also a bare 'R'), phase's or 4D CT's qualifier glued to a number of at most two
#: digits (:data:`_GLUED_QUALIFIER`'s words: 'R1', 'reader2', 'ph50', '4D'), a label token of its
#: own, kept as written: its letters alone were dropped ('GTV_R1' stored as 'GTV', 'GTV_4D' as
#: 'GTV_4', a lesion).
_GLUED_LABEL_TOKEN = (
    rf"(?<![A-Za-z])(?:(?:r|{_QUALIFIER_WORDS})[_ ]?\d{{1,{_LABEL_NUMBER_DIGITS}}}"
    rf"|(?<!\d)\d{{1,{_LABEL_NUMBER_DIGITS}}}d)(?![A-Za-z\d])"
)
_GLUED_LABEL = re.compile(_GLUED_LABEL_TOKEN, re.IGNORECASE)
_LABEL_TOKEN = re.compile(
    rf"{_GLUED_LABEL_TOKEN}|(?:{_SEQUENCE_TOKEN})(?![A-Za-z0-9])|[A-Za-z]+|\d+|-|{_OTHER_SCRIPT}",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class StructureMatch:
    """What a structure name stands for: its role and, for an organ, the site."""

    role: str
    site: str | None = None


def _spelled(name: str) -> str:
    """``name`` in compatible letters (full-width 'ＧＴＶ' as typed in a Japanese input method is
    'GTV') with a margin's '+' before a number written as a word: 'GTV+10' -> 'GTV margin 10' (its
    words alone, 'gtv 10', would read as lesion 10 of the GTV; 'GTVp plus GTVn' is a union, no
    margin)."""
    return _MARGIN_PLUS.sub(" margin ", folded(name))


def unread_words(name: str) -> frozenset[str]:
    """The words of another script in ``name``, as written ('GTV_术前' and 'GTV_术后' differ)."""
    return frozenset(re.findall(_OTHER_SCRIPT, _spelled(name).lower()))


def _unglued(word: str) -> list[str]:
    """``word`` as the GTV's name and what it holds where they are glued ('gtvnodes' -> 'gtv',
    'nodes'), else as it is."""
    glued = _GLUED_GTV.fullmatch(word)
    return [glued[1], glued[2]] if glued else [word]


def words(name: str) -> list[str]:
    """A name's lower-case words and numbers ('GTV_Mass-CT2' -> ['gtv', 'mass', 'ct', '2'];
    'GTV+10' -> ['gtv', 'margin', '10']; 'GTVnL2' -> ['gtvn', 'l', '2'], :data:`_GLUED_GTV`); a
    word of another script as :data:`_UNREAD`."""
    found = re.findall(rf"[a-z]+|\d+|{_OTHER_SCRIPT}", _spelled(name).lower())
    return [w if w.isascii() else _UNREAD for g in found for w in _unglued(g)]


def _without_id_numbers(text: str) -> str:
    """``text`` with a patient's ID (:data:`_ID_TOKEN`) cut to its letters and digits, joined by
    '_' to what follows: 'lung1-001_gtv-1' -> 'lung1_gtv-1', no hyphen left to read as a minus."""
    return _ID_TOKEN.sub(r"\1_", text)


def _minus_sides(name: str) -> Iterator[tuple[str, set[str], set[str]]]:
    """Each minus in ``name`` (a hyphen, another minus sign or one written out; none in a
    patient's ID) as '-' or its word, with the words before and after it."""
    lowered = _without_id_numbers(_minus_spelled(folded(name).lower()))
    for match in _MINUS.finditer(lowered):
        yield (
            match.group(),
            set(words(lowered[: match.start()])),
            set(words(lowered[match.end() :])),
        )


def _is_subtraction(name: str) -> bool:
    """'Liver-GTV', 'Lungs-GTV', 'liver minus tumour', 'Liver w/o GTV', 'Liver_GTV_sub': a
    structure less another. 'GTV-Lung', 'GTV-LN', 'GTV-Met1' name a GTV (of the lung, a node, a
    metastasis): after a GTV a hyphen is no minus, a minus written out ('GTV minus Liver') is.
    A patient's ID has no minus: 'LUNG1-001_GTV-1' is patient LUNG1-001's GTV-1."""
    for sign, left, right in _minus_sides(name):
        # after a GTV, a hyphen qualifies it ('GTV-Lung'); a minus written out subtracts
        taken_from = left - GTV_WORDS if sign == "-" else left
        if taken_from & (_TAKEN_FROM_WORDS | {_UNREAD}) and right & _COMBINING_WORDS:
            return True  # an organ, or a word not read ('Печень-GTV'), less the GTV
        # a minus word last ('Liver_GTV_sub', 'Lungs_GTV_excl'); a hyphen last subtracts nothing
        # ('Liver_GTV-' is 'Liver_GTV' mistyped, as its label, dropping the hyphen, reads)
        written_last = sign != "-" and not right
        if written_last and left & (_TAKEN_FROM_WORDS - GTV_WORDS) and left & GTV_WORDS:
            return True
    return False


def _helper_words(name: str, found: set[str]) -> set[str]:
    """The words of a margin or planning helper among ``found``, the words of ``name``. Beside
    a tumour word the skin is its site ('skin_tumor', 'melanoma_skin'), unless a GTV is cropped
    off it ('GTV-Skin', 'GTV_minus_Skin'); the body stays the outline ('Body_GTV'). The outline a
    subtraction takes the GTV from is said as that ('Body-GTV')."""
    helpers = found & _HELPER_WORDS
    if not found & GTV_WORDS:
        return helpers
    if _is_subtraction(name):
        return helpers - _OUTLINE_WORDS
    return helpers if _is_cropped_off_the_skin(name) else helpers - {_SKIN}


def _is_cropped_off_the_skin(name: str) -> bool:
    """'GTV-Skin', 'GTV_minus_Skin', 'GTV w/o skin': a GTV before a minus, the skin after it (a
    planning helper: the GTV less what lies in the skin)."""
    return any(before & GTV_WORDS and _SKIN in after for _, before, after in _minus_sides(name))


def _is_negated(name: str) -> bool:
    """'liver_non_tumor', 'NoTumour' as 'no tumour', 'tumor-free lung', 'nontumour': a GTV word
    denied, so the name is of the tissue around the tumour ('tumor_free_breathing' is not: the
    tumour on a free-breathing CT)."""
    found = words(name)
    for i, word in enumerate(found):
        before = found[i - 1] if i else ""
        after = found[i + 1 : i + 3]
        freed = after[:1] == [_FREE] and after[1:] not in (["breathing"], ["breath"])
        if word in GTV_WORDS and (before in _NEGATION_WORDS or (freed and word not in _GTVS)):
            return True
        if word in _DENIED_AS_ONE_WORD:
            return True
    return False


def match_structure(name: str, site: str | None = None) -> StructureMatch | None:
    """The role (and site) a structure name stands for, or None; with ``site`` only that site's
    organ names count as the organ."""
    found = set(words(name))
    if (
        not found
        or _helper_words(name, found)
        or found & _SCRATCH_WORDS
        or _is_subtraction(name)
        or _is_negated(name)
    ):
        return None
    if found & GTV_WORDS:  # "GTV_Esophagus" is a tumour, not the organ at risk
        return StructureMatch("gtv")
    if found & (_OAR_WORDS | _PART_WORDS):
        return None
    for organ_site, organ_words in SITE_ORGANS.items():
        if found & organ_words and (site is None or site == organ_site):
            return StructureMatch("organ", organ_site)
    return None


def structure_label(name: str) -> str:
    """The part of a structure's name that says what it holds, and nothing else: 'Zyxwv_Qwerty_
    GTV-1' -> 'GTV-1', 'DOE_J_Liver_contour' -> 'Liver', 'Smith_T1_19410203' -> 'T1'.

    Kept: the words structure matching, mask and image names use (and sides, lesion and image
    kinds), a reader's, phase's or 4D CT's qualifier glued to a number of at most two digits
    ('GTV_R1', 'GTV_ph50', 'GTV_4D': drawings of one tumour, never its lesions), a number of at
    most two digits right after a kept word, a '-' between kept words
    (a subtraction, 'Liver-GTV', 'Liver w/o GTV') and a 'z' starting the name (TG-263's mark of a
    structure not used clinically, 'z_GTV'); any other word or number, where a patient's name, ID or birth
    date hides, is dropped. So the label may be stored where the name may not, and
    :func:`match_structure` reads it as it reads the name. Empty when no word is known.
    """
    label, end, hyphen, after_word, known = "", 0, False, False, False
    name = _without_id_numbers(_minus_spelled(_spelled(name)))
    for match in _LABEL_TOKEN.finditer(name):
        token = match.group().replace(" ", "_") if match.group().isascii() else _UNREAD
        if token == "-":
            hyphen = True
            continue
        number = token.isdigit()
        if not (
            token.lower() in _LABEL_WORDS
            or _GLUED_LABEL.fullmatch(token)
            or _GLUED_GTV.fullmatch(token.lower())
            or (number and after_word and len(token) <= _LABEL_NUMBER_DIGITS)
            or (token.lower() in _SCRATCH_LETTERS and not name[: match.start()].strip(" _-"))
        ):
            after_word = False
            continue
        if label and match.start() != end:
            label += "-" if hyphen else "_"
        label, end, hyphen, after_word = label + token, match.end(), False, not number
        known = known or token != _UNREAD
    return label if known else ""  # words of another script alone say nothing


def why_not_the_gtv(name: str) -> str | None:
    """Why a name with a GTV or target word is no GTV, for a refusal finding none ('IGTV': a
    motion envelope); None for a name without such a word or that is a GTV."""
    found = set(words(name))
    if not found & (GTV_WORDS | {"igtv", "itv", "ctv", "ptv"}) or match_role(name) == "gtv":
        return None
    return _why_never_a_role(name)


def _why_never_a_role(name: str) -> str | None:
    """Why the rules never give ``name`` a role, whatever its other words ('PTV', 'Ring_5mm':
    a margin or helper; 'z_GTV': a scratch copy; 'Lung-GTV': a subtraction), else None."""
    found = set(words(name))
    if found & _SCRATCH_WORDS:
        return "a superseded version, copy or scratch structure"
    if _helper_words(name, found):
        return "a margin, motion envelope (ITV, IGTV) or planning helper"
    if _is_subtraction(name):
        return "another structure less the GTV"
    if _is_negated(name):
        return "the tissue around the tumour"
    return None


def alternative_gtvs(gtv: Sequence[str], names: Sequence[str] = ()) -> list[str]:
    """Of the GTV-like ``gtv``, those that differ by a word of :data:`_ALTERNATIVE_WORDS` (other
    drawings of one tumour: 'GTV' and 'GTV_replan'); [] where they are lesions or parts of one
    tumour to unite (none such, or all alike: 'GTV_1_CT', 'GTV_2_CT'; 'GTVp', 'GTVn'). A GTV
    named for a sub-region beside other sub-regions among ``names`` (all the structures) counts
    them too: BraTS's 'Enhancing tumor' beside 'Necrotic core' was taken alone as the GTV."""
    said = [_qualifiers(n) for n in gtv]
    regions = [n for n in names if n not in gtv and set(words(n)) & _SUB_REGION_WORDS]
    if regions and any(set(words(n)) & _SUB_REGION_WORDS for n in gtv):
        return [*gtv, *regions]
    return list(gtv) if len(set(said)) > 1 else []


def _qualifiers(name: str) -> frozenset[str]:
    """What tells a GTV named ``name`` from another drawing of the same tumour: its words of
    :data:`_ALTERNATIVE_WORDS`, of another script, and its glued qualifiers ('reader1', 'ph50')."""
    glued = re.findall(_GLUED_QUALIFIER, _spelled(name).lower())
    found = frozenset(words(name)) & _ALTERNATIVE_WORDS
    return found | unread_words(name) | {g.replace("_", "").replace(" ", "") for g in glued}


def not_united(names: Sequence[str]) -> str:
    """Why the GTV-like ``names`` are not united (:func:`alternative_gtvs`), for a refusal."""
    return (
        f"{', '.join(map(repr, names))} look like drawings of one tumour (another version or "
        "edit, reader, time point or phase, image or sub-region): their union is no tumour"
    )


def gtvs_left_out(names: Sequence[str], gtv: Sequence[str]) -> list[str]:
    """Warnings for the ``names`` starting with 'GTV' that no rule reads as the GTV nor sets
    aside (:func:`_why_never_a_role`: a PTV, a copy), beside the GTV ``gtv`` the rules found: a
    node named 'GTVnodes' was left out of the GTV's union with nothing said."""
    return [
        f"{name!r} looks like a GTV but is not part of it (the GTV is "
        f"{', '.join(map(repr, gtv))}): if it is part of the tumour, name it with them as the "
        f"GTV ({WHERE_TO_SAY})."
        for name, key in ((n, structure_key(n)) for n in names)
        if folded(key).lower().startswith("gtv")
        and match_role(key) is None
        and _why_never_a_role(key) is None
    ]


#: Words of a nodal GTV's name, glued ('GTVn', 'GTVnd', 'GTVnode', 'GTVLN') or after 'GTV'
#: ('GTV_N1', 'GTV-N2', 'GTV node', 'GTV_LN', a side glued: 'GTV_nL'; other languages'
#: 'Lymphknoten', 'ganglion', 'linfonodo'; a retropharyngeal node 'RPN'), and those naming the
#: primary ('GTVp', 'GTV_T', the nasopharynx's 'GTV_NX_ND', 'GTV_NP_N': primary and nodes).
_NODAL_WORDS = frozenset({
    "gtvn", "gtvnd", "gtvnode", "gtvln", "n", "nd", "node", "nodes", "nodal", "ln", "lymph", "nl",
    "nr", "lk", "lymphknoten", "ganglion", "ganglions", "ganglio", "ganglios", "adenopathie",
    "adenopathy", "adp", "nodo", "nodos", "nodi", "linfonodo", "linfonodi", "rpn",
})  # fmt: skip
_PRIMARY_WORDS = frozenset({
    "gtvp", "gtvt", "gtvnx", "p", "t", "primary", "prim", "primaire", "nx", "np", "nph", "nasal",
    "nasopharynx", "tumor", "tumour", "tumeur",
})  # fmt: skip


def is_nodal_gtv(name: str) -> bool:
    """Whether ``name`` reads as a GTV of lymph nodes, not of the primary tumour ('GTVn',
    'gtv_n.nii.gz', 'GTV-N1', 'GTVnd', 'GTV node'; not 'GTVp', 'GTVp_N' nor 'GTV_1')."""
    key = structure_key(name)
    found = set(words(key))
    return match_role(key) == "gtv" and bool(found & _NODAL_WORDS) and not found & _PRIMARY_WORDS


def nodes_alone_note(gtv: Sequence[str]) -> str | None:
    """A warning where every structure the rules took as the GTV, ``gtv``, names lymph nodes
    (head-and-neck plans' 'GTVn' with no 'GTVp'): the nodes are then the tumour the features
    describe, which a clinician must know (a primary resected or unknown, or not exported);
    else None."""
    if not gtv or not all(map(is_nodal_gtv, gtv)):
        return None
    reads = "reads" if len(gtv) == 1 else "read"
    return (
        f"{', '.join(map(repr, gtv))} {reads} as a nodal GTV (lymph nodes), and no structure of "
        "the case reads as the primary tumour: the nodes are taken as the GTV, so the tumour "
        "features describe lymph nodes. If the case has a contour of the primary tumour, name "
        f"it as the GTV ({WHERE_TO_SAY})."
    )


def match_role(name: str, site: str | None = None) -> str | None:
    """The role a structure name stands for ('gtv', 'organ') or None."""
    found = match_structure(name, site)
    return None if found is None else found.role


def structure_key(name: str) -> str:
    """The part of a structure's name that says what it is: a mask file's stem
    ('lung.nii.gz' -> 'lung'), an RTSTRUCT ROI or SEG segment name as it is."""
    return volume_stem(name) if is_volume_file(name) else name


def as_names(value: str | Sequence[str]) -> list[str]:
    """One structure name or several, as a list."""
    return [value] if isinstance(value, str) else list(value)


@dataclass
class RoleCandidates:
    """Structures that may fill each role: the GTV's (all united by default) and the organ's by site."""

    gtv: list[str]
    organs: dict[str, list[str]]

    @property
    def sites(self) -> list[str]:
        return list(self.organs)


def role_candidates(names: Iterable[str], site: str | None = None) -> RoleCandidates:
    """Sort structure ``names`` into GTV candidates and organ candidates per site."""
    gtv: list[str] = []
    organs: dict[str, list[str]] = {}
    for name in names:
        found = match_structure(name, site)
        if found is None:
            continue
        if found.role == "gtv":
            gtv.append(name)
        else:
            organs.setdefault(str(found.site), []).append(name)
    return RoleCandidates(gtv, organs)


def lone_structure(names: Sequence[str], found: RoleCandidates) -> list[str]:
    """The GTV a case of volumes is taken to be where its only structure is named as none
    (``found``: :func:`role_candidates` of its keys): that structure, the one a case needs
    (pyradiomics' 'lung1_label.nrrd' beside its image), else no structure."""
    return list(names) if len(names) == 1 and not found.gtv else []


def map_roles(
    names: Sequence[str],
    *,
    required: tuple[str, ...] = ("gtv",),
    site: str | None = None,
) -> dict[str, list[str]]:
    """Role -> the structure names that make it, from names alone.

    Every GTV-like structure is part of the GTV. The organ is taken when exactly one site's organ
    names occur (Lung-Left + Lung-Right together); organs of several sites are ambiguous and a
    ``required`` role with no candidate is missing: both raise :class:`RTStructError` listing
    the structures found, so the user can say which is which.
    """
    found = role_candidates(names, site)
    mapping: dict[str, list[str]] = {}
    problems: list[str] = []
    if alternative := alternative_gtvs(found.gtv, names):
        problems.append(not_united(alternative))
    elif found.gtv:
        mapping["gtv"] = found.gtv
    elif "gtv" in required:
        problems.append("no structure is recognised as the GTV (tumour)")
    if len(found.organs) == 1:
        mapping["organ"] = next(iter(found.organs.values()))
    elif found.organs:
        listed = "; ".join(f"{s}: {', '.join(map(repr, n))}" for s, n in found.organs.items())
        problems.append(f"several organs could host the tumour ({listed})")
    elif "organ" in required:
        problems.append(
            f"no structure is recognised as the {site or 'organ'}"
            if site
            else "no structure is recognised as the organ"
        )
    if problems:
        listed = ", ".join(map(repr, names)) or "none"
        raise RTStructError(
            f"{'; '.join(problems)} (structures found: {listed}). {say_which(names)}"
        )
    return mapping


#: Words naming an organ, at risk or of a site: never the example of a GTV.
_NAMED_ORGANS = _OAR_WORDS | _ORGAN_WORDS


def _may_be_the_gtv(name: str) -> bool:
    """Whether ``name`` reads as the GTV, or as nothing, naming no organ and none of what a
    refusal sets aside (:func:`_why_never_a_role`: a PTV, a scratch copy, a subtraction)."""
    found = match_structure(name)
    if found is not None:
        return found.role == "gtv"
    return not set(words(name)) & _NAMED_ORGANS and _why_never_a_role(name) is None


def chosen_gtv_caution(name: str) -> str | None:
    """A warning for a structure a user names as the GTV (roles.json, a ROI map, the Case page)
    that the rules never take for one ('PTV': a margin), else None: the choice is kept, but the
    features then describe that structure, not the tumour (a PTV: the GTV grown by margins)."""
    why = _why_never_a_role(structure_key(name))
    if why is None:
        return None
    return (
        f"{name!r}, given as the GTV, reads as {why}, not a tumour: its features describe that "
        "structure, not the tumour. Name the tumour's own contour as the GTV if the case has one."
    )


def say_which(names: Sequence[str]) -> str:
    """How a refusal of a case's ``names`` ends: the user says which structure plays which role
    (:data:`WHERE_TO_SAY`, which an import replaces with its ROI map), with an example naming one
    of them as written, the last not named for an organ ('label.nii.gz:2' of a label map's
    labels: a file name alone, 'label.nii.gz', names no label and was refused), and not a
    MONAI Label datastore's 'label_original' (the model's output before the user's edit) beside
    its saved 'label', nor an organ at risk ('Heart' was offered as the GTV's example), nor one
    the refusal sets aside ('PTV.nii.gz' was, loading the PTV as the tumour); else a placeholder."""
    plain = [n for n in names if _may_be_the_gtv(n)]
    edited = [n for n in plain if "original" not in words(n)]
    example = (edited or plain or ["<the tumour's structure>"])[-1]
    return f"Say which structure is which ({WHERE_TO_SAY}: {json.dumps({'gtv': [example]})})."


def normalise_roles(roles: Mapping[str, str | Sequence[str]] | None) -> dict[str, list[str]]:
    """Role -> list of names from a mapping whose values are one name or several; legacy role
    names (``liver``) read as today's (``organ``). An empty list (or None) says the case has no
    such structure: the role is then not looked for by name."""
    out: dict[str, list[str]] = {}
    for role, value in (roles or {}).items():
        names = [n for n in as_names(value or []) if n]
        out.setdefault(LEGACY_ROLES.get(role, role), []).extend(names)
    return out
