//! The vocabulary of the generated university: Chinese names (with pinyin for e-mail
//! addresses), the colleges with their majors and departments, and the titles of
//! meetings, study material, notices, activities and forum posts.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

/// Common surnames with pinyin and a relative frequency (per mille, rounded).
const SURNAMES: &[(&str, &str, u32)] = &[
    ("王", "wang", 72),
    ("李", "li", 71),
    ("张", "zhang", 66),
    ("刘", "liu", 54),
    ("陈", "chen", 45),
    ("杨", "yang", 31),
    ("黄", "huang", 23),
    ("赵", "zhao", 21),
    ("吴", "wu", 20),
    ("周", "zhou", 19),
    ("徐", "xu", 17),
    ("孙", "sun", 15),
    ("马", "ma", 15),
    ("朱", "zhu", 14),
    ("胡", "hu", 13),
    ("郭", "guo", 12),
    ("何", "he", 12),
    ("林", "lin", 11),
    ("高", "gao", 11),
    ("罗", "luo", 10),
    ("郑", "zheng", 10),
    ("梁", "liang", 9),
    ("谢", "xie", 8),
    ("宋", "song", 8),
    ("唐", "tang", 8),
    ("许", "xu", 7),
    ("韩", "han", 7),
    ("冯", "feng", 7),
    ("邓", "deng", 7),
    ("曹", "cao", 7),
    ("彭", "peng", 6),
    ("曾", "zeng", 6),
    ("肖", "xiao", 6),
    ("田", "tian", 6),
    ("董", "dong", 5),
    ("袁", "yuan", 5),
    ("潘", "pan", 5),
    ("于", "yu", 5),
    ("蒋", "jiang", 5),
    ("蔡", "cai", 5),
    ("余", "yu", 5),
    ("杜", "du", 5),
    ("叶", "ye", 4),
    ("程", "cheng", 4),
    ("苏", "su", 4),
    ("魏", "wei", 4),
    ("吕", "lv", 4),
    ("丁", "ding", 4),
    ("任", "ren", 4),
    ("沈", "shen", 4),
    ("姚", "yao", 3),
    ("卢", "lu", 3),
    ("姜", "jiang", 3),
    ("崔", "cui", 3),
    ("钟", "zhong", 3),
    ("谭", "tan", 3),
    ("陆", "lu", 3),
    ("汪", "wang", 3),
    ("范", "fan", 3),
    ("金", "jin", 3),
];

const MALE_CHARS: &[(&str, &str)] = &[
    ("伟", "wei"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("浩", "hao"),
    ("宇", "yu"),
    ("轩", "xuan"),
    ("博", "bo"),
    ("文", "wen"),
    ("鹏", "peng"),
    ("辉", "hui"),
    ("俊", "jun"),
    ("峰", "feng"),
    ("凯", "kai"),
    ("晨", "chen"),
    ("宁", "ning"),
    ("翔", "xiang"),
    ("振", "zhen"),
    ("子", "zi"),
    ("天", "tian"),
    ("嘉", "jia"),
    ("泽", "ze"),
    ("旭", "xu"),
    ("昊", "hao"),
    ("瑞", "rui"),
    ("睿", "rui"),
    ("远", "yuan"),
    ("志", "zhi"),
    ("建", "jian"),
    ("国", "guo"),
    ("家", "jia"),
    ("豪", "hao"),
    ("毅", "yi"),
    ("斌", "bin"),
    ("航", "hang"),
    ("铭", "ming"),
    ("成", "cheng"),
    ("亮", "liang"),
    ("坤", "kun"),
    ("晗", "han"),
    ("一", "yi"),
    ("思", "si"),
    ("逸", "yi"),
    ("诚", "cheng"),
];

const FEMALE_CHARS: &[(&str, &str)] = &[
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("婷", "ting"),
    ("雪", "xue"),
    ("琳", "lin"),
    ("颖", "ying"),
    ("欣", "xin"),
    ("怡", "yi"),
    ("佳", "jia"),
    ("雨", "yu"),
    ("萱", "xuan"),
    ("诗", "shi"),
    ("梦", "meng"),
    ("晓", "xiao"),
    ("婉", "wan"),
    ("慧", "hui"),
    ("倩", "qian"),
    ("月", "yue"),
    ("菲", "fei"),
    ("悦", "yue"),
    ("涵", "han"),
    ("妍", "yan"),
    ("洁", "jie"),
    ("玉", "yu"),
    ("燕", "yan"),
    ("璐", "lu"),
    ("彤", "tong"),
    ("瑶", "yao"),
    ("可", "ke"),
    ("心", "xin"),
    ("楠", "nan"),
    ("珊", "shan"),
    ("蕾", "lei"),
    ("思", "si"),
    ("雅", "ya"),
    ("嘉", "jia"),
    ("晴", "qing"),
    ("一", "yi"),
    ("子", "zi"),
    ("若", "ruo"),
    ("文", "wen"),
    ("宁", "ning"),
    ("琪", "qi"),
    ("露", "lu"),
    ("冰", "bing"),
];

/// A Chinese name with its pinyin: `surname` and `given` become `li.wei`.
#[derive(Debug, Clone)]
pub(super) struct Name {
    pub(super) chinese: String,
    pub(super) surname_pinyin: &'static str,
    pub(super) given_pinyin: String,
}

impl Name {
    /// `li.wei`: the local part of a staff e-mail address.
    pub(super) fn mailbox(&self) -> String {
        format!("{}.{}", self.surname_pinyin, self.given_pinyin)
    }
}

/// A name drawn from the frequency of surnames and the usual given-name characters.
pub(super) fn name(rng: &mut StdRng, male: bool) -> Name {
    let total: u32 = SURNAMES.iter().map(|s| s.2).sum();
    let mut pick = rng.random_range(0..total);
    let &(surname, surname_pinyin, _) = SURNAMES
        .iter()
        .find(|s| {
            if pick < s.2 {
                true
            } else {
                pick -= s.2;
                false
            }
        })
        .expect("the pick falls inside the total");
    let chars = if male { MALE_CHARS } else { FEMALE_CHARS };
    let first = chars.choose(rng).expect("names are listed");
    let (mut chinese, mut given) = (format!("{surname}{}", first.0), first.1.to_string());
    if rng.random_bool(0.65) {
        let second = chars.choose(rng).expect("names are listed");
        if second.0 != first.0 {
            chinese.push_str(second.0);
            given.push_str(second.1);
        }
    }
    Name {
        chinese,
        surname_pinyin,
        given_pinyin: given,
    }
}

/// A mobile number with a real Chinese carrier prefix.
pub(super) fn phone(rng: &mut StdRng) -> String {
    const PREFIXES: &[u32] = &[
        130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 156, 157, 158, 159, 166,
        176, 177, 178, 180, 181, 182, 183, 185, 186, 187, 188, 189, 198, 199,
    ];
    format!(
        "{}{:08}",
        PREFIXES.choose(rng).expect("prefixes are listed"),
        rng.random_range(0..100_000_000u32)
    )
}

/// A college of the university, with what its students study and its staff teach.
#[derive(Debug)]
pub(super) struct CollegeTemplate {
    pub(super) name: &'static str,
    /// How branches and classes call it: 计算机学院.
    pub(super) short: &'static str,
    /// 党委, or 党总支 for a small college.
    pub(super) committee: &'static str,
    /// Undergraduate majors with the abbreviation that names their classes (计科2201班).
    pub(super) majors: &'static [(&'static str, &'static str)],
    /// Graduate programmes (学科 / 专业学位).
    pub(super) programmes: &'static [&'static str],
    /// Departments and teaching offices of the staff.
    pub(super) departments: &'static [&'static str],
    /// Undergraduate, graduate and staff branches.
    pub(super) branches: (usize, usize, usize),
    pub(super) male_share: f64,
}

/// The first eight make up a scale-1 university (40 branches); larger scales add the
/// rest, then repeat them on other campuses.
pub(super) const COLLEGES: &[CollegeTemplate] = &[
    CollegeTemplate {
        name: "计算机科学与技术学院",
        short: "计算机学院",
        committee: "党委",
        majors: &[
            ("计算机科学与技术", "计科"),
            ("软件工程", "软工"),
            ("人工智能", "智能"),
            ("数据科学与大数据技术", "数据"),
            ("网络空间安全", "网安"),
        ],
        programmes: &["计算机科学与技术", "软件工程", "电子信息（专业学位）"],
        departments: &[
            "计算机科学系",
            "软件工程系",
            "人工智能系",
            "网络空间安全系",
            "计算机实验教学中心",
        ],
        branches: (3, 2, 2),
        male_share: 0.7,
    },
    CollegeTemplate {
        name: "机械工程学院",
        short: "机械学院",
        committee: "党委",
        majors: &[
            ("机械设计制造及其自动化", "机制"),
            ("机械电子工程", "机电"),
            ("车辆工程", "车辆"),
            ("工业设计", "工设"),
        ],
        programmes: &["机械工程", "车辆工程", "机械（专业学位）"],
        departments: &["机械设计系", "机械电子工程系", "车辆工程系", "工业设计系"],
        branches: (2, 1, 2),
        male_share: 0.8,
    },
    CollegeTemplate {
        name: "经济管理学院",
        short: "经管学院",
        committee: "党委",
        majors: &[
            ("经济学", "经济"),
            ("金融学", "金融"),
            ("会计学", "会计"),
            ("工商管理", "工商"),
            ("市场营销", "营销"),
        ],
        programmes: &["应用经济学", "工商管理", "会计（专业学位）"],
        departments: &["经济学系", "金融学系", "会计学系", "工商管理系"],
        branches: (3, 1, 2),
        male_share: 0.4,
    },
    CollegeTemplate {
        name: "外国语学院",
        short: "外国语学院",
        committee: "党总支",
        majors: &[
            ("英语", "英语"),
            ("日语", "日语"),
            ("翻译", "翻译"),
            ("商务英语", "商英"),
        ],
        programmes: &["外国语言文学", "翻译（专业学位）"],
        departments: &["英语系", "日语系", "翻译系", "大学外语教学部"],
        branches: (2, 1, 1),
        male_share: 0.25,
    },
    CollegeTemplate {
        name: "马克思主义学院",
        short: "马克思主义学院",
        committee: "党总支",
        majors: &[("思想政治教育", "思政")],
        programmes: &["马克思主义理论", "思想政治教育"],
        departments: &[
            "马克思主义基本原理教研室",
            "中国近现代史纲要教研室",
            "思想道德与法治教研室",
            "毛泽东思想和中国特色社会主义理论体系概论教研室",
        ],
        branches: (1, 1, 1),
        male_share: 0.4,
    },
    CollegeTemplate {
        name: "材料科学与工程学院",
        short: "材料学院",
        committee: "党委",
        majors: &[
            ("材料科学与工程", "材料"),
            ("高分子材料与工程", "高分子"),
            ("无机非金属材料工程", "无机"),
        ],
        programmes: &["材料科学与工程", "材料与化工（专业学位）"],
        departments: &["金属材料系", "高分子材料系", "无机非金属材料系"],
        branches: (2, 1, 2),
        male_share: 0.65,
    },
    CollegeTemplate {
        name: "化学化工学院",
        short: "化工学院",
        committee: "党委",
        majors: &[
            ("化学", "化学"),
            ("应用化学", "应化"),
            ("化学工程与工艺", "化工"),
            ("制药工程", "制药"),
        ],
        programmes: &["化学", "化学工程与技术"],
        departments: &["化学系", "化学工程系", "制药工程系", "分析测试中心"],
        branches: (2, 1, 2),
        male_share: 0.55,
    },
    CollegeTemplate {
        name: "数学与统计学院",
        short: "数统学院",
        committee: "党委",
        majors: &[
            ("数学与应用数学", "数学"),
            ("信息与计算科学", "信计"),
            ("统计学", "统计"),
        ],
        programmes: &["数学", "统计学", "应用统计（专业学位）"],
        departments: &["基础数学系", "应用数学系", "统计学系", "大学数学教学部"],
        branches: (2, 1, 2),
        male_share: 0.55,
    },
    CollegeTemplate {
        name: "电气与信息工程学院",
        short: "电气学院",
        committee: "党委",
        majors: &[
            ("电气工程及其自动化", "电气"),
            ("自动化", "自动化"),
            ("电子信息工程", "电信"),
        ],
        programmes: &["电气工程", "控制科学与工程"],
        departments: &["电力系统系", "自动化系", "电子信息工程系"],
        branches: (2, 1, 1),
        male_share: 0.75,
    },
    CollegeTemplate {
        name: "土木工程学院",
        short: "土木学院",
        committee: "党委",
        majors: &[
            ("土木工程", "土木"),
            ("工程管理", "工程管理"),
            ("道路桥梁与渡河工程", "道桥"),
        ],
        programmes: &["土木工程", "土木水利（专业学位）"],
        departments: &["结构工程系", "岩土工程系", "工程管理系"],
        branches: (2, 1, 1),
        male_share: 0.75,
    },
    CollegeTemplate {
        name: "生命科学学院",
        short: "生科院",
        committee: "党委",
        majors: &[
            ("生物科学", "生科"),
            ("生物技术", "生技"),
            ("生物工程", "生工"),
        ],
        programmes: &["生物学", "生物与医药（专业学位）"],
        departments: &["生物科学系", "生物技术系", "生物工程系"],
        branches: (2, 1, 1),
        male_share: 0.45,
    },
    CollegeTemplate {
        name: "新闻与传播学院",
        short: "新传学院",
        committee: "党总支",
        majors: &[
            ("新闻学", "新闻"),
            ("广告学", "广告"),
            ("网络与新媒体", "新媒体"),
        ],
        programmes: &["新闻传播学", "新闻与传播（专业学位）"],
        departments: &["新闻学系", "广告学系", "新媒体系"],
        branches: (2, 1, 1),
        male_share: 0.3,
    },
    CollegeTemplate {
        name: "法学院",
        short: "法学院",
        committee: "党委",
        majors: &[("法学", "法学"), ("知识产权", "知产")],
        programmes: &["法学", "法律（专业学位）"],
        departments: &[
            "法学理论教研室",
            "民商法教研室",
            "刑法教研室",
            "知识产权教研室",
        ],
        branches: (2, 1, 1),
        male_share: 0.4,
    },
    CollegeTemplate {
        name: "物理与电子科学学院",
        short: "物电学院",
        committee: "党委",
        majors: &[
            ("物理学", "物理"),
            ("应用物理学", "应物"),
            ("光电信息科学与工程", "光电"),
        ],
        programmes: &["物理学", "光学工程"],
        departments: &["物理学系", "应用物理系", "光电工程系", "大学物理教学部"],
        branches: (2, 1, 1),
        male_share: 0.65,
    },
    CollegeTemplate {
        name: "建筑与城市规划学院",
        short: "建规学院",
        committee: "党总支",
        majors: &[
            ("建筑学", "建筑"),
            ("城乡规划", "规划"),
            ("风景园林", "风景"),
        ],
        programmes: &["建筑学", "城乡规划学"],
        departments: &["建筑学系", "城乡规划系", "风景园林系"],
        branches: (1, 1, 1),
        male_share: 0.55,
    },
    CollegeTemplate {
        name: "文学院",
        short: "文学院",
        committee: "党委",
        majors: &[
            ("汉语言文学", "汉语言"),
            ("汉语国际教育", "汉教"),
            ("秘书学", "秘书"),
        ],
        programmes: &["中国语言文学", "汉语国际教育（专业学位）"],
        departments: &["中国古代文学教研室", "中国现当代文学教研室", "语言学教研室"],
        branches: (2, 1, 1),
        male_share: 0.25,
    },
];

/// Campuses that repeat the colleges at large scales.
pub(super) const CAMPUSES: &[&str] = &["南湖校区", "东湖校区", "西山校区", "北辰校区", "临江校区"];

/// 第一, 第二… for branch and group names.
pub(super) fn ordinal(n: usize) -> String {
    const DIGITS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        1..=9 => format!("第{}", DIGITS[n]),
        10 => "第十".to_string(),
        11..=19 => format!("第十{}", DIGITS[n - 10]),
        _ => format!("第{n}"),
    }
}

/// Universities where graduate students and staff were members before they came.
pub(super) const OTHER_UNIVERSITIES: &[&str] = &[
    "武汉大学",
    "华中科技大学",
    "武汉理工大学",
    "华中师范大学",
    "中南财经政法大学",
    "湖北大学",
    "郑州大学",
    "南昌大学",
    "湖南大学",
    "中南大学",
    "长江大学",
    "三峡大学",
    "江汉大学",
    "湖北工业大学",
    "武汉科技大学",
    "西安交通大学",
    "四川大学",
    "山东大学",
];

/// Where graduates move their organisational relationship: employers, further study,
/// or the community of their residence.
pub(super) const DESTINATIONS: &[&str] = &[
    "华为技术有限公司党委",
    "腾讯科技（深圳）有限公司党委",
    "中国建设银行湖北省分行党委",
    "国家电网湖北省电力有限公司党委",
    "中建三局集团有限公司党委",
    "东风汽车集团有限公司党委",
    "中国银行湖北省分行党委",
    "中国信息通信科技集团有限公司党委",
    "长江存储科技有限责任公司党委",
    "武汉市洪山区关山街道党工委",
    "武汉市江夏区纸坊街道党工委",
    "湖北省人才服务局流动党员党委",
    "中国科学院武汉分院党委",
    "湖北省委组织部（选调生）",
    "宜昌市西陵区教育局党委",
    "襄阳市樊城区人民政府机关党委",
];

pub(super) fn destination(rng: &mut StdRng) -> String {
    if rng.random_bool(0.2) {
        // Further study elsewhere.
        format!(
            "{}研究生院党委",
            OTHER_UNIVERSITIES.choose(rng).expect("listed")
        )
    } else {
        DESTINATIONS.choose(rng).expect("listed").to_string()
    }
}

pub(super) fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    *items.choose(rng).expect("a non-empty list")
}

pub(super) const THEME_DAY_TOPICS: &[&str] = &[
    "重温入党誓词",
    "学习贯彻党的二十大精神",
    "参观红色教育基地",
    "志愿服务进社区",
    "学习《中国共产党章程》",
    "党史专题学习",
    "“我为同学办实事”",
    "观看红色电影",
    "学习身边榜样",
    "保密与网络安全教育",
    "廉洁文化教育",
    "学习全国两会精神",
    "弘扬科学家精神",
    "铭记历史 缅怀先烈",
];

pub(super) const ASSEMBLY_TOPICS: &[&str] = &[
    "讨论接收预备党员",
    "讨论预备党员转正",
    "通报党费收缴情况",
    "讨论确定发展对象",
    "支部工作总结与计划",
    "传达学习上级党委文件精神",
];

pub(super) const LECTURE_TOPICS: &[&str] = &[
    "新时代青年的使命与担当",
    "坚定理想信念 筑牢信仰之基",
    "从党史中汲取奋进力量",
    "党员的权利和义务",
    "加强党性修养 做合格党员",
    "全面从严治党永远在路上",
    "中国式现代化的理论与实践",
    "发扬斗争精神 增强斗争本领",
];

pub(super) const COMMITTEE_TOPICS: &[&str] = &[
    "研究本月支部工作安排",
    "研究党员发展工作",
    "研究党费收缴与使用",
    "研究主题党日活动方案",
    "研究积极分子培养考察",
];

pub(super) const GROUP_TOPICS: &[&str] = &[
    "集体学习党的创新理论",
    "交流思想汇报",
    "学习《习近平谈治国理政》",
    "开展批评与自我批评",
    "学习先进典型事迹",
];

pub(super) const RESOURCE_SERIES: &[&str] = &[
    "习近平新时代中国特色社会主义思想学习纲要·专题",
    "《中国共产党章程》学习辅导·第",
    "党史学习教育微课·第",
    "《中国共产党纪律处分条例》逐条解读·第",
    "党的二十大报告学习辅导·专题",
    "《发展党员工作细则》解读·第",
    "“四史”学习读本·第",
    "时代楷模事迹学习·第",
    "红色家书诵读·第",
    "形势与政策专题报告·第",
];

/// The topic of each series of [`RESOURCE_SERIES`] (the topics of the study
/// recommendations, DOMAIN.md), and the stages that must study it (the 积极分子 and 发展对象
/// courses: the Constitution and the Party's basic knowledge before each step).
pub(super) const RESOURCE_TOPICS: &[(&str, &[&str])] = &[
    ("理论学习", &[]),
    ("党章党规", &["applicant", "activist", "development_target"]),
    ("党史", &["activist"]),
    ("廉洁教育", &[]),
    ("理论学习", &[]),
    ("党章党规", &["development_target"]),
    ("党史", &[]),
    ("业务知识", &[]),
    ("党史", &[]),
    ("形势政策", &[]),
];

/// The topics of study material and quizzes (党章党规, 党史, 理论学习, 形势政策, 廉洁教育,
/// 业务知识): the monthly university test rotates through them.
pub(super) const TOPICS: &[&str] = &[
    "党章党规",
    "党史",
    "理论学习",
    "形势政策",
    "廉洁教育",
    "业务知识",
];

pub(super) const RESOURCE_KINDS: &[&str] = &["文章", "视频", "音频", "课件", "文件"];

pub(super) const UNIVERSITY_NOTICES: &[&str] = &[
    "关于开展“三会一课”落实情况检查的通知",
    "关于组织党员集中收看重要会议直播的通知",
    "关于举办入党积极分子培训班的通知",
    "关于举办发展对象集中培训的通知",
    "关于做好党费收缴工作的通知",
    "关于开展党员教育培训的通知",
    "关于做好毕业生党员组织关系转接工作的通知",
    "关于做好年度民主评议党员工作的通知",
    "关于开展主题教育的实施方案",
    "关于表彰优秀共产党员和先进基层党组织的决定",
];

pub(super) const COLLEGE_NOTICES: &[&str] = &[
    "关于召开党建工作例会的通知",
    "关于做好本学期党员发展工作的通知",
    "关于推荐入党积极分子参加培训的通知",
    "关于开展支部书记述职评议的通知",
    "关于报送支部工作台账的通知",
    "关于开展学生党员先锋岗评选的通知",
];

pub(super) const BRANCH_NOTICES: &[&str] = &[
    "关于召开支部党员大会的通知",
    "关于按时缴纳党费的提醒",
    "关于本月主题党日活动安排的通知",
    "关于提交思想汇报的通知",
    "关于参加党课学习的通知",
    "关于填写党员信息采集表的通知",
];

pub(super) const ACTIVITIES: &[(&str, &str)] = &[
    ("“学雷锋”志愿服务活动", "志愿服务"),
    ("红色观影：《长津湖》", "主题教育"),
    ("参观辛亥革命武昌起义纪念馆", "参观学习"),
    ("“我为群众办实事”实践活动", "志愿服务"),
    ("迎新志愿服务", "志愿服务"),
    ("无偿献血志愿服务", "志愿服务"),
    ("关爱留守儿童支教活动", "社会实践"),
    ("党史知识竞赛", "主题教育"),
    ("图书馆志愿服务", "志愿服务"),
    ("乡村振兴调研实践", "社会实践"),
    ("参观八七会议会址纪念馆", "参观学习"),
    ("垃圾分类宣传志愿服务", "志愿服务"),
    ("红歌合唱比赛", "文体活动"),
    ("社区义诊与科普宣传", "志愿服务"),
];

pub(super) const POSTS: &[&str] = &[
    "学习二十大精神心得体会",
    "参加主题党日活动有感",
    "入党积极分子培训班学习体会",
    "重温入党誓词，牢记初心使命",
    "观《觉醒年代》有感",
    "志愿服务心得",
    "党课学习笔记",
    "我的入党故事",
    "寒假社会实践感悟",
    "参观纪念馆有感",
    "做一名合格的共产党员",
    "读《习近平的七年知青岁月》有感",
    "发展对象培训学习总结",
    "专业学习与党员先锋作用",
];
