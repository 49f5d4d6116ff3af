"""Reference data of the policy: the 51020 clusters, service kinds, platform types, Hubei's regions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources


class ClusterTier(StrEnum):
    """The three tiers of the "51020" clusters (《湖北省制造业中试平台培育建设工作指引》三、重点领域)."""

    TRILLION = "trillion"  # 万亿级
    FIVE_HUNDRED_BILLION = "five_hundred_billion"  # 5000亿级
    HUNDRED_BILLION = "hundred_billion"  # 千亿级


TIER_LABELS = {
    ClusterTier.TRILLION: "万亿级",
    ClusterTier.FIVE_HUNDRED_BILLION: "5000亿级",
    ClusterTier.HUNDRED_BILLION: "千亿级",
}


class Cluster(StrEnum):
    """The 35 industry clusters of "51020" (重点领域)."""

    OPTOELECTRONIC_INFORMATION = "optoelectronic_information"
    AUTOMOTIVE = "automotive"
    MODERN_CHEMICALS = "modern_chemicals"
    BIG_HEALTH = "big_health"
    AGRI_FOOD_PROCESSING = "agri_food_processing"
    HIGH_END_EQUIPMENT = "high_end_equipment"
    NEW_MATERIALS = "new_materials"
    ENERGY_SAVING_ENVIRONMENTAL = "energy_saving_environmental"
    MODERN_TEXTILES = "modern_textiles"
    GREEN_BUILDING_MATERIALS = "green_building_materials"
    LOW_CARBON_METALLURGY = "low_carbon_metallurgy"
    SOFTWARE_RD_DESIGN = "software_rd_design"
    SMART_TERMINALS = "smart_terminals"
    SAFETY_EMERGENCY = "safety_emergency"
    INTEGRATED_CIRCUITS = "integrated_circuits"
    NEV_CONNECTED_VEHICLES = "nev_connected_vehicles"
    NEW_ENERGY = "new_energy"
    BEIDOU = "beidou"
    AEROSPACE = "aerospace"
    GREEN_SMART_SHIPS = "green_smart_ships"
    INDUSTRIAL_MACHINE_TOOLS = "industrial_machine_tools"
    LASER = "laser"
    NEW_DISPLAYS = "new_displays"
    NEW_INFORMATION_NETWORKS = "new_information_networks"
    ARTIFICIAL_INTELLIGENCE = "artificial_intelligence"
    BIOMEDICINE = "biomedicine"
    HIGH_END_MEDICAL_DEVICES = "high_end_medical_devices"
    LOW_ALTITUDE_ECONOMY = "low_altitude_economy"
    HUMANOID_ROBOTS = "humanoid_robots"
    COMPUTING_BIG_DATA = "computing_big_data"
    QUANTUM_PHOTONICS = "quantum_photonics"
    HIGH_END_CHIPS = "high_end_chips"
    AGRI_MICROBES_BREEDING = "agri_microbes_breeding"
    SPATIOTEMPORAL_INTELLIGENCE = "spatiotemporal_intelligence"
    DEEP_SPACE_SEA_EARTH = "deep_space_sea_earth"


_T1, _T2, _T3 = ClusterTier.TRILLION, ClusterTier.FIVE_HUNDRED_BILLION, ClusterTier.HUNDRED_BILLION
CLUSTERS: dict[Cluster, tuple[str, ClusterTier]] = {
    Cluster.OPTOELECTRONIC_INFORMATION: ("光电子信息", _T1),
    Cluster.AUTOMOTIVE: ("汽车制造与服务", _T1),
    Cluster.MODERN_CHEMICALS: ("现代化工", _T1),
    Cluster.BIG_HEALTH: ("大健康", _T1),
    Cluster.AGRI_FOOD_PROCESSING: ("现代农产品加工", _T1),
    Cluster.HIGH_END_EQUIPMENT: ("高端装备", _T2),
    Cluster.NEW_MATERIALS: ("新材料", _T2),
    Cluster.ENERGY_SAVING_ENVIRONMENTAL: ("节能环保", _T2),
    Cluster.MODERN_TEXTILES: ("现代纺织", _T2),
    Cluster.GREEN_BUILDING_MATERIALS: ("绿色建材", _T2),
    Cluster.LOW_CARBON_METALLURGY: ("低碳冶金", _T2),
    Cluster.SOFTWARE_RD_DESIGN: ("软件和研发设计", _T2),
    Cluster.SMART_TERMINALS: ("智能终端", _T2),
    Cluster.SAFETY_EMERGENCY: ("安全应急", _T2),
    Cluster.INTEGRATED_CIRCUITS: ("集成电路", _T2),
    Cluster.NEV_CONNECTED_VEHICLES: ("新能源与智能网联汽车", _T3),
    Cluster.NEW_ENERGY: ("新能源", _T3),
    Cluster.BEIDOU: ("北斗及应用", _T3),
    Cluster.AEROSPACE: ("航空航天", _T3),
    Cluster.GREEN_SMART_SHIPS: ("绿色智能船舶", _T3),
    Cluster.INDUSTRIAL_MACHINE_TOOLS: ("工业母机", _T3),
    Cluster.LASER: ("激光", _T3),
    Cluster.NEW_DISPLAYS: ("新型显示", _T3),
    Cluster.NEW_INFORMATION_NETWORKS: ("新型信息网络", _T3),
    Cluster.ARTIFICIAL_INTELLIGENCE: ("人工智能", _T3),
    Cluster.BIOMEDICINE: ("生物医药", _T3),
    Cluster.HIGH_END_MEDICAL_DEVICES: ("高端医疗器械", _T3),
    Cluster.LOW_ALTITUDE_ECONOMY: ("低空经济", _T3),
    Cluster.HUMANOID_ROBOTS: ("人形机器人", _T3),
    Cluster.COMPUTING_BIG_DATA: ("算力与大数据", _T3),
    Cluster.QUANTUM_PHOTONICS: ("量子与光子科技", _T3),
    Cluster.HIGH_END_CHIPS: ("高端芯片", _T3),
    Cluster.AGRI_MICROBES_BREEDING: ("农业微生物与生物育种", _T3),
    Cluster.SPATIOTEMPORAL_INTELLIGENCE: ("时空智能", _T3),
    Cluster.DEEP_SPACE_SEA_EARTH: ("深空深海深地", _T3),
}


class ServiceKind(StrEnum):
    """The nine pilot service kinds (《湖北省制造业中试平台培育建设工作指引》二、功能定位)."""

    PROJECT_SELECTION = "project_selection"
    RD_TRANSFER = "rd_transfer"
    PROCESS_IMPROVEMENT = "process_improvement"
    PROCESS_SCALE_UP = "process_scale_up"
    TYPE_TESTING = "type_testing"
    PERFORMANCE_TESTING = "performance_testing"
    SMALL_BATCH_PRODUCTION = "small_batch_production"
    INSTRUMENT_SHARING = "instrument_sharing"
    EQUIPMENT_VALIDATION = "equipment_validation"


SERVICE_KIND_LABELS = {
    ServiceKind.PROJECT_SELECTION: "中试项目遴选开发",
    ServiceKind.RD_TRANSFER: "技术研发转化",
    ServiceKind.PROCESS_IMPROVEMENT: "性能工艺改进",
    ServiceKind.PROCESS_SCALE_UP: "工艺放大熟化",
    ServiceKind.TYPE_TESTING: "产品型式试验",
    ServiceKind.PERFORMANCE_TESTING: "产品性能测试",
    ServiceKind.SMALL_BATCH_PRODUCTION: "小批量试生产",
    ServiceKind.INSTRUMENT_SHARING: "仪器设备共享",
    ServiceKind.EQUIPMENT_VALIDATION: "设备应用验证",
}


class PlatformType(StrEnum):
    """The six platform types (《湖北省制造业中试平台培育建设工作指引》四、平台类型)."""

    GOVERNMENT_PUBLIC_SERVICE = "government_public_service"
    UNIVERSITY_INSTITUTE_TRANSFER = "university_institute_transfer"
    JOINT_CONSTRUCTION = "joint_construction"
    ENTERPRISE_MARKET_SERVICE = "enterprise_market_service"
    ENTERPRISE_PARTLY_OPEN = "enterprise_partly_open"
    LEADING_ENTERPRISE_OWN = "leading_enterprise_own"


PLATFORM_TYPE_LABELS = {
    PlatformType.GOVERNMENT_PUBLIC_SERVICE: "政府投资公共服务",
    PlatformType.UNIVERSITY_INSTITUTE_TRANSFER: "高校院所成果转化",
    PlatformType.JOINT_CONSTRUCTION: "多元主体联合共建",
    PlatformType.ENTERPRISE_MARKET_SERVICE: "企业运营市场服务",
    PlatformType.ENTERPRISE_PARTLY_OPEN: "企业建设适度开放",
    PlatformType.LEADING_ENTERPRISE_OWN: "龙头企业自主建设",
}


class LegalPersonKind(StrEnum):
    """What kind of entity the applicant is; only legal persons may apply (C1)."""

    ENTERPRISE = "enterprise"  # 企业法人
    PUBLIC_INSTITUTION = "public_institution"  # 事业单位法人
    SOCIAL_ORGANISATION = "social_organisation"  # 社会组织法人
    UNINCORPORATED = "unincorporated"  # 非法人组织（分支机构等）


LEGAL_PERSON_KIND_LABELS = {
    LegalPersonKind.ENTERPRISE: "企业法人",
    LegalPersonKind.PUBLIC_INSTITUTION: "事业单位法人",
    LegalPersonKind.SOCIAL_ORGANISATION: "社会组织法人",
    LegalPersonKind.UNINCORPORATED: "非法人组织",
}


@dataclass(frozen=True)
class Region:
    """A GB/T 2260 division: a county-level unit with the city-level unit above it."""

    code: str
    name: str
    city_code: str
    city_name: str
    province_administered: bool


@cache
def hubei_counties() -> dict[str, Region]:
    """Every county-level unit of Hubei by code (the four province-administered units list themselves)."""
    raw = json.loads(resources.files(__package__).joinpath("hubei_regions.json").read_text("utf-8"))
    cities = {c["code"]: c for c in raw["cities"]}
    return {
        c["code"]: Region(
            code=c["code"],
            name=c["name"],
            city_code=c["city"],
            city_name=cities[c["city"]]["name"],
            province_administered=cities[c["city"]]["province_administered"],
        )
        for c in raw["counties"]
    }


@cache
def hubei_cities() -> dict[str, str]:
    """The 17 city-level units: code → name."""
    return {r.city_code: r.city_name for r in hubei_counties().values()}


def region(code: str) -> Region:
    """The Hubei county-level unit with this code; KeyError when there is none."""
    return hubei_counties()[code]
