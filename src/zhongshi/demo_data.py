"""The sample round's applicants: a realistic spread over Hubei's cities, types, cluster tiers and
screening outcomes. Each row: county code, applicant, platform, type, clusters, what is special."""

from __future__ import annotations

from zhongshi_contracts.credit_code import make_credit_code
from zhongshi_contracts.reference import Cluster as C  # noqa: N817 - keeps the table readable
from zhongshi_contracts.reference import PlatformType as T

# variant: "ok" passes everything; "c2" .. "c9" fall short of that clause; "c5"/"c6" are flagged only.
APPLICANTS: list[tuple[str, str, str, T, list[C], str]] = [
    ("420111", "武汉光谷光电子技术研究院有限公司", "光电子器件工艺放大中试平台", T.ENTERPRISE_MARKET_SERVICE,
     [C.OPTOELECTRONIC_INFORMATION, C.LASER], "ok"),
    ("420115", "华中科技大学", "激光智能制造中试基地", T.UNIVERSITY_INSTITUTE_TRANSFER, [C.LASER], "ok"),
    ("420112", "武汉生物医药创新中心", "创新药制剂中试平台", T.GOVERNMENT_PUBLIC_SERVICE,
     [C.BIOMEDICINE, C.BIG_HEALTH], "ok"),
    ("420106", "武汉理工大学", "绿色建材中试验证平台", T.UNIVERSITY_INSTITUTE_TRANSFER,
     [C.GREEN_BUILDING_MATERIALS, C.NEW_MATERIALS], "ok"),
    ("420114", "东风汽车集团有限公司", "新能源整车试制中试平台", T.LEADING_ENTERPRISE_OWN,
     [C.AUTOMOTIVE, C.NEV_CONNECTED_VEHICLES], "ok"),
    ("420116", "武汉航空航天材料联合创新有限公司", "航空复合材料中试线", T.JOINT_CONSTRUCTION,
     [C.AEROSPACE, C.NEW_MATERIALS], "c6"),
    ("420117", "武汉芯谷半导体有限公司", "集成电路封测中试平台", T.ENTERPRISE_PARTLY_OPEN,
     [C.INTEGRATED_CIRCUITS, C.HIGH_END_CHIPS], "c2"),
    ("420281", "大冶特殊钢有限公司", "低碳冶金工艺中试平台", T.LEADING_ENTERPRISE_OWN, [C.LOW_CARBON_METALLURGY], "ok"),
    ("420202", "黄石先进材料中试服务有限公司", "新材料小批量试产平台", T.ENTERPRISE_MARKET_SERVICE,
     [C.NEW_MATERIALS], "c5"),
    ("420303", "十堰汽车零部件检测中心", "汽车零部件型式试验中试平台", T.GOVERNMENT_PUBLIC_SERVICE,
     [C.AUTOMOTIVE], "ok"),
    ("420381", "丹江口水资源环保科技有限公司", "水处理装备中试平台", T.ENTERPRISE_MARKET_SERVICE,
     [C.ENERGY_SAVING_ENVIRONMENTAL], "c7"),
    ("420505", "宜昌化工新材料中试基地有限公司", "精细化工中试基地", T.ENTERPRISE_MARKET_SERVICE,
     [C.MODERN_CHEMICALS], "ok"),
    ("420506", "三峡大学", "新能源储能中试平台", T.UNIVERSITY_INSTITUTE_TRANSFER, [C.NEW_ENERGY], "c8"),
    ("420581", "宜都生物育种科技有限公司", "农业微生物中试平台", T.ENTERPRISE_PARTLY_OPEN,
     [C.AGRI_MICROBES_BREEDING, C.AGRI_FOOD_PROCESSING], "c5"),
    ("420606", "襄阳高端装备中试中心有限公司", "工业母机可靠性验证中试平台", T.ENTERPRISE_MARKET_SERVICE,
     [C.INDUSTRIAL_MACHINE_TOOLS, C.HIGH_END_EQUIPMENT], "ok"),
    ("420607", "襄阳航宇机电有限公司分公司", "航空机电中试车间", T.ENTERPRISE_PARTLY_OPEN,
     [C.AEROSPACE], "c1"),
    ("420683", "枣阳现代纺织研究院", "功能纺织品中试平台", T.GOVERNMENT_PUBLIC_SERVICE, [C.MODERN_TEXTILES], "c4"),
    ("420704", "鄂州光电显示有限公司", "新型显示模组中试线", T.ENTERPRISE_PARTLY_OPEN, [C.NEW_DISPLAYS], "c9"),
    ("420802", "荆门化工循环产业研究院", "化工循环中试平台", T.JOINT_CONSTRUCTION,
     [C.MODERN_CHEMICALS, C.ENERGY_SAVING_ENVIRONMENTAL], "ok"),
    ("420881", "钟祥农产品加工技术有限公司", "农产品精深加工中试平台", T.ENTERPRISE_MARKET_SERVICE,
     [C.AGRI_FOOD_PROCESSING], "c6"),
    ("420902", "孝感航天科技有限公司", "北斗终端中试平台", T.ENTERPRISE_PARTLY_OPEN,
     [C.BEIDOU, C.SPATIOTEMPORAL_INTELLIGENCE], "ok"),
    ("420984", "汉川智能终端产业园运营有限公司", "智能终端试制平台", T.ENTERPRISE_MARKET_SERVICE,
     [C.SMART_TERMINALS], "c3"),
    ("421003", "荆州石油装备研究院", "油气装备中试平台", T.GOVERNMENT_PUBLIC_SERVICE, [C.HIGH_END_EQUIPMENT], "ok"),
    ("421088", "监利绿色船舶科技有限公司", "绿色智能船舶中试平台", T.ENTERPRISE_PARTLY_OPEN,
     [C.GREEN_SMART_SHIPS], "c2"),
    ("421102", "黄冈医疗器械检测中心", "高端医疗器械中试平台", T.GOVERNMENT_PUBLIC_SERVICE,
     [C.HIGH_END_MEDICAL_DEVICES], "ok"),
    ("421182", "武穴医药化工有限公司", "原料药中试车间", T.LEADING_ENTERPRISE_OWN, [C.BIOMEDICINE], "c5"),
    ("421202", "咸宁应急装备研究院", "安全应急装备中试平台", T.GOVERNMENT_PUBLIC_SERVICE, [C.SAFETY_EMERGENCY], "ok"),
    ("421281", "赤壁低空飞行器科技有限公司", "低空飞行器中试平台", T.ENTERPRISE_MARKET_SERVICE,
     [C.LOW_ALTITUDE_ECONOMY], "c7"),
    ("421303", "随州专用汽车中试服务有限公司", "专用汽车中试平台", T.JOINT_CONSTRUCTION, [C.AUTOMOTIVE], "ok"),
    ("422801", "恩施硒资源开发研究院", "富硒食品中试平台", T.GOVERNMENT_PUBLIC_SERVICE,
     [C.AGRI_FOOD_PROCESSING, C.BIG_HEALTH], "c6"),
    ("429004", "仙桃非织造布产业研究院", "非织造材料中试平台", T.JOINT_CONSTRUCTION, [C.MODERN_TEXTILES], "ok"),
    ("429005", "潜江化工新材料有限公司", "电子化学品中试平台", T.ENTERPRISE_PARTLY_OPEN,
     [C.MODERN_CHEMICALS, C.INTEGRATED_CIRCUITS], "c8"),
    ("429006", "天门生物医药产业园有限公司", "中药制剂中试平台", T.ENTERPRISE_MARKET_SERVICE, [C.BIOMEDICINE], "ok"),
    ("429021", "神农架中药材研究所", "中药材炮制中试平台", T.GOVERNMENT_PUBLIC_SERVICE, [C.BIG_HEALTH], "c5"),
    ("420105", "武汉人工智能计算中心有限公司", "人形机器人与具身智能中试平台", T.ENTERPRISE_MARKET_SERVICE,
     [C.HUMANOID_ROBOTS, C.ARTIFICIAL_INTELLIGENCE, C.COMPUTING_BIG_DATA], "ok"),
    ("420502", "宜昌量子光子科技有限公司", "光子芯片中试平台", T.ENTERPRISE_PARTLY_OPEN,
     [C.QUANTUM_PHOTONICS, C.OPTOELECTRONIC_INFORMATION], "c5"),
]

# What the simulated departments do that is not a plain recommendation (by applicant name).
COUNTY_RETURNS = {"武汉理工大学": "请补充近两年中试服务收入的审计报告及安全评价报告后重新提交。"}
COUNTY_REJECTS = {"十堰汽车零部件检测中心": "该平台主要服务本单位检测业务，对外开放共享不足，本批次不予推荐。"}
EXCEPTION_REFUSALS = {"武穴医药化工有限公司": "设备原值明显不足，难以支撑原料药中试服务，不同意例外认定。"}
RECOMMEND_OPINION = "经初审，申报材料齐全，中试条件和服务成效符合要求，同意推荐。"
FORWARD_OPINION = "经市州经信部门审核，该平台符合本地产业布局，同意推荐至省经济和信息化厅。"
EXCEPTION_APPROVAL = "该平台依托园区公共试验场地和共享设备开展中试，实际能力满足要求，同意按“原则上”条件例外认定。"
# 推荐指标 per city in the sample round; every other city gets DEFAULT_QUOTA.
QUOTAS = {"420100": 4, "420500": 2, "420600": 2}
DEFAULT_QUOTA = 3


SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林"
GIVEN = ["建国", "志强", "海燕", "晓明", "丽华", "文斌", "红梅", "永刚", "静", "伟", "敏", "磊", "婷", "军"]


def legal_kind(name: str) -> tuple[str, str]:
    """The applicant's legal-person kind and the first two characters of its credit code."""
    if name.endswith("分公司"):
        return "unincorporated", "91"
    if name.endswith(("大学", "研究院", "中心", "研究所")):
        return "public_institution", "12"
    return "enterprise", "91"


def applicant_credit_code(i: int) -> str:
    """The unified social credit code of applicant ``i`` (its row in APPLICANTS)."""
    county, name = APPLICANTS[i][0], APPLICANTS[i][1]
    return make_credit_code(f"{legal_kind(name)[1]}{county}MA{(i * 7919) % 10**7:07d}")
